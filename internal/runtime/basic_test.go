package runtime

import "testing"

func TestBasic(t *testing.T) {
	p, sink := newTestPool(t, Options{})
	spec := goSpec(t, "basic", nil)
	res := invoke(t, p, spec, `{"hello":"world"}`)
	t.Logf("%+v %s", res, res.Payload)
	res = invoke(t, p, spec, `{"hello":"world"}`)
	t.Logf("%+v %s", res, res.Payload)
	for _, l := range sink.all() {
		t.Logf("%s %q", l.RequestID, l.Line)
	}
}
