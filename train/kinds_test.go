package train

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestKinds: flags parse to the kinds in any case, "" is the default, and
// JSON carries the names, as saved configurations did before the kinds
// were typed.
func TestKinds(t *testing.T) {
	for _, k := range []OptimizerKind{Adam, SGD} {
		if got, err := ParseOptimizerKind(" " + strings.ToUpper(string(k)) + " "); got != k || err != nil {
			t.Errorf("%v: parsed as %v, %v", k, got, err)
		}
	}
	for _, k := range []ScheduleKind{ConstantSchedule, StepSchedule, CosineSchedule} {
		if got, err := ParseScheduleKind(strings.ToUpper(string(k))); got != k || err != nil {
			t.Errorf("%v: parsed as %v, %v", k, got, err)
		}
	}
	if k, err := ParseOptimizerKind(""); k != Adam || err != nil {
		t.Errorf(`"": %v, %v`, k, err)
	}
	if k, err := ParseScheduleKind(""); k != ConstantSchedule || err != nil {
		t.Errorf(`"": %v, %v`, k, err)
	}
	if _, err := ParseOptimizerKind("rmsprop"); err == nil || !strings.Contains(err.Error(), `"rmsprop" (want adam or sgd)`) {
		t.Errorf("rmsprop: %v", err)
	}
	if _, err := ParseScheduleKind("linear"); err == nil || !strings.Contains(err.Error(), "linear") {
		t.Errorf("linear: %v", err)
	}
	b, err := json.Marshal(Config{Optimizer: Optimizer{Kind: SGD}, Schedule: Schedule{Kind: CosineSchedule}})
	if err != nil || !strings.Contains(string(b), `"Optimizer":{"Kind":"sgd"`) || !strings.Contains(string(b), `"Schedule":{"Kind":"cosine"`) {
		t.Fatalf("%s, %v", b, err)
	}
	if (Schedule{Kind: "Cosine"}).Validate() == nil || (Optimizer{Kind: "SGD"}).Validate() == nil {
		t.Error("a kind spelled other than its constant validated")
	}
	if d := (Optimizer{}).WithDefaults(); d.Kind != Adam || d.LearningRate != 1e-4 {
		t.Errorf("default optimizer %+v", d)
	}
	if d := (Optimizer{Kind: SGD}).WithDefaults(); d.LearningRate != 1e-2 {
		t.Errorf("default SGD learning rate %v", d.LearningRate)
	}
}
