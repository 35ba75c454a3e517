//go:build !race

package itsdangerous

const raceEnabled = false
