module github.com/coatcheck/coatcheck

go 1.23
