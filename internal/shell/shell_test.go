package shell

import (
	"os/exec"
	"strings"
	"testing"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"-out":        "-out",
		"a/b_c.zip,d": "a/b_c.zip,d",
		"":            "''",
		"my run":      "'my run'",
		"it's":        `'it'\''s'`,
		"$HOME":       "'$HOME'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestJoinRoundTrip: a POSIX shell splits Join's output back into the
// words.
func TestJoinRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	words := []string{"oneshot", "-out", "my run", "it's", "$HOME", "", "a\"b", "x\\y"}
	out, err := exec.Command(sh, "-c", "set -- "+Join(words[1:]...)+`; for w in "$@"; do printf '%s\n' "<$w>"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, w := range words[1:] {
		want = append(want, "<"+w+">")
	}
	if got := strings.TrimSuffix(string(out), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("the shell read\n%s\nwant\n%s", got, strings.Join(want, "\n"))
	}
}
