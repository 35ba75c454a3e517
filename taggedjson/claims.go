package taggedjson

// Claims reports whether one of the tags registered on s (not Flask's
// defaults) accepts v: a value of an app type the serializer writes with a
// custom tag. The session's Set keeps such values as they are instead of
// converting them to plain dicts.
func (s *Serializer) Claims(v any) bool {
	t := s.table()
	if t.builtin {
		return false
	}
	for _, tg := range t.order {
		if _, builtin := tg.(*builtinTag); !builtin && tg.Check(v) {
			return true
		}
	}
	return false
}
