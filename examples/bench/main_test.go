package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gosiamese/gosiamese/resnet"
)

// TestBenchRuns measures a tiny ResNet-18 and checks the JSON object's
// fields.
func TestBenchRuns(t *testing.T) {
	var out, errOut bytes.Buffer
	if rc := run([]string{"-depth", "18", "-size", "32", "-batch", "2", "-iters", "1", "-train-batch", "2", "-train-iters", "2"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v in %q", err, out.String())
	}
	if res["arch"] != "resnet18" || res["embed_batch"] != 2.0 || res["train_batch"] != 2.0 {
		t.Errorf("result %v does not follow the flags", res)
	}
	for _, k := range []string{"embed_images_per_s", "train_images_per_s", "peak_rss_mib"} {
		if v, ok := res[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", k, res[k])
		}
	}
	if steps, ok := res["rss_mib_by_train_step"].([]any); !ok || len(steps) != 2 {
		t.Errorf("rss_mib_by_train_step = %v, want 2 values", res["rss_mib_by_train_step"])
	}
	if _, ok := res["sweep_rss_mib"]; ok {
		t.Errorf("sweep_rss_mib without -sweep: %v", res["sweep_rss_mib"])
	}
}

// TestBenchSweep: -sweep runs inference at each batch size twice through
// and reports the RSS after each run.
func TestBenchSweep(t *testing.T) {
	var out, errOut bytes.Buffer
	if rc := run([]string{"-depth", "18", "-size", "32", "-batch", "0", "-train-batch", "2", "-train-iters", "1", "-sweep", "1,3,2"}, &out, &errOut); rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v in %q", err, out.String())
	}
	rss, ok := res["sweep_rss_mib"].([]any)
	if !ok || len(rss) != 6 {
		t.Fatalf("sweep_rss_mib = %v, want 6 values", res["sweep_rss_mib"])
	}
	for i, v := range rss {
		if f, ok := v.(float64); !ok || f <= 0 {
			t.Errorf("sweep_rss_mib[%d] = %v, want a positive number", i, v)
		}
	}
	if b, ok := res["sweep_batches"].([]any); !ok || len(b) != 3 || b[1] != 3.0 || res["sweep_max_graphs"] != float64(resnet.MaxInferGraphs) {
		t.Errorf("sweep_batches %v, sweep_max_graphs %v", res["sweep_batches"], res["sweep_max_graphs"])
	}
	for _, bad := range []string{"0", "2,x"} {
		errOut.Reset()
		if rc := run([]string{"-sweep", bad}, &out, &errOut); rc != 2 || !strings.Contains(errOut.String(), "-sweep") {
			t.Errorf("-sweep %q: exit %d, %q", bad, rc, errOut.String())
		}
	}
}

// TestBenchFlags: bad flags are refused up front with a plain message, not
// run (a negative batch) or passed to Gorgonia (BatchNorm over one value,
// which failed as "PC 87. Failed to execute instruction BatchNorm16...").
func TestBenchFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-batch", "-1"}, "must not be negative"},
		{[]string{"-train-batch", "-2"}, "must not be negative"},
		{[]string{"-batch", "0", "-train-batch", "0"}, "nothing to measure"},
		{[]string{"-iters", "0"}, "at least 1"},
		{[]string{"-train-iters", "-1"}, "at least 1"},
		{[]string{"-depth", "19"}, "-depth 19"},
		{[]string{"-size", "16"}, "-size 16"},
		{[]string{"-train-batch", "1", "-size", "32"}, "training BatchNorm needs more than one value per channel"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-nosuch"}, "nosuch"},
		{[]string{"-precision", "fp16"}, "-precision"},
	} {
		var out, errOut bytes.Buffer
		rc := run(c.args, &out, &errOut)
		e := errOut.String()
		if rc != 2 || !strings.Contains(e, c.want) || out.Len() > 0 || strings.Contains(e, "PC ") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, rc, e, c.want)
		}
	}
	// The smallest training batch that BatchNorm takes runs.
	var out, errOut bytes.Buffer
	if rc := run([]string{"-depth", "18", "-size", "33", "-batch", "0", "-train-batch", "1", "-train-iters", "1"}, &out, &errOut); rc != 0 {
		t.Errorf("-train-batch 1 -size 33: exit %d: %s", rc, errOut.String())
	}
}

// TestBenchPrecision: -precision bf16 measures bfloat16 inference where it
// runs and says so in the JSON, and elsewhere exits 1 with the reason.
func TestBenchPrecision(t *testing.T) {
	var out, errOut bytes.Buffer
	rc := run([]string{"-depth", "18", "-size", "32", "-batch", "2", "-iters", "1", "-train-batch", "0", "-precision", "bf16"}, &out, &errOut)
	if avail := resnet.PrecisionAvailable(resnet.BF16); avail != nil {
		if rc != 1 || out.Len() > 0 || !strings.Contains(errOut.String(), "precision unavailable") {
			t.Fatalf("bf16 unavailable (%v): exit %d, stderr %q", avail, rc, errOut.String())
		}
		t.Skipf("skipped: %v", avail)
	}
	if rc != 0 {
		t.Fatalf("exit %d: %s", rc, errOut.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v in %q", err, out.String())
	}
	if v, ok := res["embed_images_per_s"].(float64); res["embed_precision"] != "bf16" || !ok || v <= 0 {
		t.Errorf("result %v", res)
	}
}
