package coatcheck

import (
	"reflect"
	"time"
)

// change is one key's change since load, replayed by mergeSession.
type change struct {
	value   any
	deleted bool
}

// diffSession returns the top-level keys whose values differ (deep
// equality) between base, the session as loaded, and data, as it is now:
// set calls and changes made in place inside nested values alike.
func diffSession(base, data map[string]any) map[string]change {
	changes := make(map[string]change)
	for k, v := range data {
		if b, ok := base[k]; !ok || !reflect.DeepEqual(b, v) {
			changes[k] = change{value: v}
		}
	}
	for k := range base {
		if _, ok := data[k]; !ok {
			changes[k] = change{deleted: true}
		}
	}
	return changes
}

// mergeSession replays changes (made on base) onto newer, what another
// request saved meanwhile: keys this request did not change keep the newer
// value; for a key both changed, this request's change wins and conflicts
// lists it. After Clear or Destroy (cleared) the newer keys are dropped too.
func mergeSession(newer, base map[string]any, changes map[string]change, cleared bool) (merged map[string]any, conflicts []string) {
	if cleared || newer == nil {
		newer = make(map[string]any, len(changes))
	}
	for k, c := range changes {
		bv, inBase := base[k]
		nv, inNewer := newer[k]
		same := c.deleted && !inNewer || !c.deleted && inNewer && reflect.DeepEqual(nv, c.value)
		if !cleared && !same && (inBase != inNewer || inBase && !reflect.DeepEqual(bv, nv)) {
			conflicts = append(conflicts, k)
		}
		if c.deleted {
			delete(newer, k)
		} else {
			newer[k] = c.value
		}
	}
	return newer, conflicts
}

// deadlineKey carries a session's absolute deadline (Unix seconds) inside
// its data, when Config.AbsoluteLifetime is set: in the stored value of a
// server-side session, in the signed data of a cookie session. Flask sees
// it as an ordinary key; Coatcheck hides it from handlers.
const deadlineKey = "_cc_deadline"

// takeDeadline removes the deadline stamp from m and returns it.
func takeDeadline(m map[string]any) (time.Time, bool) {
	v, ok := m[deadlineKey]
	if !ok {
		return time.Time{}, false
	}
	delete(m, deadlineKey)
	if n, ok := toInt64(v); ok {
		return time.Unix(n, 0), true
	}
	return time.Time{}, false
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		return int64(n), true
	}
	return 0, false
}
