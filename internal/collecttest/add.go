package collecttest

import (
	"reflect"
	"runtime"
	"unsafe"
)

// add attaches to the object p points to a cleanup that sends i on done.
func add(p any, done chan<- int, i int) {
	v := reflect.ValueOf(p)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("collecttest: Watch wants non-nil pointers")
	}
	ptr := (*byte)(unsafe.Pointer(v.Pointer()))
	v = reflect.Value{}
	runtime.AddCleanup(ptr, func(i int) { done <- i }, i)
}
