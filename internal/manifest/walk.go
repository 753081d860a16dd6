package manifest

import "reflect"

var valueType = reflect.TypeOf((*Value)(nil))

// specValues returns every *Value reachable from a spec struct, so references
// held in typed fields count as dependencies and get rewritten like
// properties do.
func specValues(spec any) []*Value {
	var out []*Value
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		if !v.IsValid() {
			return
		}
		if v.Type() == valueType {
			if !v.IsNil() {
				out = append(out, v.Interface().(*Value))
			}
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				walk(iter.Value())
			}
		}
	}
	walk(reflect.ValueOf(spec))
	return out
}

func specRefs(spec any) []string {
	set := map[string]bool{}
	for _, v := range specValues(spec) {
		v.collectRefs(set)
	}
	return sortedKeys(set)
}

func rewriteSpec(x *expander, spec any) {
	for _, v := range specValues(spec) {
		x.rewrite(v)
	}
}
