package pickle

import "errors"

// Marshal is a placeholder.
func Marshal(v any, protocol int) ([]byte, error) { return nil, errors.New("pickle: Marshal not implemented yet") }
