package coatcheck

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
)

// errReplaced is returned to a handler writing after its response was
// replaced by the session error handler.
var errReplaced = errors.New("coatcheck: response replaced by the session error handler")

// responseWriter commits the session just before the first byte of the
// response. Flush, Hijack and ReadFrom commit first too; everything else
// (deadlines, EnableFullDuplex, …) is reached by http.ResponseController
// through Unwrap.
type responseWriter struct {
	http.ResponseWriter
	m         *Manager
	r         *http.Request
	s         *Session
	committed bool
	failed    bool // the error handler answered; drop the handler's output
}

func (w *responseWriter) commit() {
	if w.committed {
		return
	}
	w.committed = true
	if !w.m.commit(w.ResponseWriter, w.r, w.s) {
		w.failed = true
	}
}

func (w *responseWriter) WriteHeader(code int) {
	w.commit()
	if w.failed {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.commit()
	if w.failed {
		return 0, errReplaced
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps io.Copy on the fast path (sendfile) after committing.
func (w *responseWriter) ReadFrom(src io.Reader) (int64, error) {
	w.commit()
	if w.failed {
		return 0, errReplaced
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{w.ResponseWriter}, src)
}

// Flush commits, then flushes the underlying writer if it can.
func (w *responseWriter) Flush() {
	_ = w.FlushError()
}

// FlushError is Flush reporting errors, used by http.ResponseController.
func (w *responseWriter) FlushError() error {
	w.commit()
	if w.failed {
		return errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack commits the session (the store write happens; headers can no
// longer be sent by the server), then hands over the connection.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.commit()
	if w.failed {
		return nil, nil, errReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type writerOnly struct{ io.Writer }

func itoa(n int) string { return strconv.Itoa(n) }

func strconvQuote(s string) string { return strconv.Quote(s) }
