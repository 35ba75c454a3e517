package coatcheck

import "github.com/coatcheck/coatcheck/pyval"

// Flash is one flashed message, as Flask's get_flashed_messages
// (with_categories=True) returns it.
type Flash struct {
	Category string
	Message  string
}

// Flash queues message under the category "message", like Flask's
// flash(message). It is stored in the session as "_flashes" exactly as Flask
// stores it, so Go and Flask apps can flash to each other.
func (s *Session) Flash(message string) {
	s.FlashCategory("message", message)
}

// FlashCategory queues message under category, like flash(message, category).
func (s *Session) FlashCategory(category, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.write() {
		return
	}
	var list []any
	switch old := s.data[FlashesKey].(type) {
	case []any:
		list = append(list, old...)
	case pyval.Tuple:
		list = append(list, old...)
	}
	if s.data == nil {
		s.data = make(map[string]any, 1)
	}
	list = append(list, pyval.Tuple{category, message})
	s.data[FlashesKey] = list
	s.changed()
}

// Flashes returns the flashed messages and removes them from the session,
// like get_flashed_messages(with_categories=True, category_filter=categories):
// every message leaves the session on the first call of a request (the filter
// only narrows what is returned), and later calls in the same request return
// the same messages again.
func (s *Session) Flashes(categories ...string) []Flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.flashesLoaded {
		s.flashesLoaded = true
		s.read()
		if v, ok := s.data[FlashesKey]; ok {
			s.flashes = parseFlashes(v)
			if s.write() {
				delete(s.data, FlashesKey)
				s.changed()
			}
		}
	}
	if len(categories) == 0 {
		return append([]Flash(nil), s.flashes...)
	}
	var out []Flash
	for _, f := range s.flashes {
		for _, c := range categories {
			if f.Category == c {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// parseFlashes accepts Flask's list of (category, message) tuples, and the
// lists msgpack turns tuples into.
func parseFlashes(v any) []Flash {
	var items []any
	switch x := v.(type) {
	case []any:
		items = x
	case pyval.Tuple:
		items = x
	}
	out := make([]Flash, 0, len(items))
	for _, it := range items {
		var pair []any
		switch p := it.(type) {
		case pyval.Tuple:
			pair = p
		case []any:
			pair = p
		}
		if len(pair) != 2 {
			continue
		}
		out = append(out, Flash{Category: text(pair[0]), Message: text(pair[1])})
	}
	return out
}

func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case pyval.Markup:
		return string(x)
	case []byte:
		return string(x)
	}
	return pyval.Repr(v)
}
