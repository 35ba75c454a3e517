package taggedjson

// Claims reports whether s writes v with a tag registered on it (not one of
// Flask's defaults): the first tag in s's order whose Check accepts v is a
// custom one. The session's Set keeps such values as they are instead of
// converting them to plain dicts.
func (s *Serializer) Claims(v any) bool {
	t := s.table()
	if t.builtin {
		return false
	}
	for _, tg := range t.order {
		if tg.Check(v) {
			_, builtin := tg.(*builtinTag)
			return !builtin
		}
	}
	return false
}
