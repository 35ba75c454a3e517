package pgstore

// Dialect lets the external tests build a sqlstore.Store on a counting
// *sql.DB in this package's dialect.
var Dialect = dialect
