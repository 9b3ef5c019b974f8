package layout

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/gosiamese/gosiamese/"

// diagramEdges reads the solid arrows ("a --> b", chains allowed) of the
// first mermaid block after "## Layout" in the README, and every node
// named in the block.
func diagramEdges(t *testing.T, readme string) (edges map[[2]string]bool, nodes map[string]bool) {
	t.Helper()
	_, after, ok := strings.Cut(readme, "\n## Layout\n")
	if !ok {
		t.Fatal("README has no Layout section")
	}
	_, block, ok := strings.Cut(after, "```mermaid\n")
	if !ok {
		t.Fatal("README's Layout section has no mermaid diagram")
	}
	block, _, _ = strings.Cut(block, "```")
	id := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*`)
	node := func(s string) string { return id.FindString(strings.TrimSpace(s)) }
	edges, nodes = map[[2]string]bool{}, map[string]bool{}
	for _, line := range strings.Split(block, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line == "end" || strings.HasPrefix(line, "flowchart") || strings.HasPrefix(line, "%%") {
			continue
		}
		if name, ok := strings.CutPrefix(line, "subgraph "); ok {
			nodes[node(name)] = true
			continue
		}
		for _, dotted := range strings.Split(line, "-.->") {
			parts := strings.Split(dotted, "-->")
			for i, p := range parts {
				nodes[node(p)] = true
				if i > 0 {
					edges[[2]string{node(parts[i-1]), node(p)}] = true
				}
			}
		}
	}
	return edges, nodes
}

// TestDiagramMatchesImports fails when an arrow of the diagram is not an
// import, when an import between the library's packages has no arrow, or
// when a library package is missing from the diagram.
func TestDiagramMatchesImports(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go tool not found: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	edges, nodes := diagramEdges(t, string(readme))
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	library := func(path string) (string, bool) {
		rel, ok := strings.CutPrefix(path, module)
		if !ok || strings.HasPrefix(rel, "internal/") || strings.HasPrefix(rel, "examples/") || strings.Contains(rel, "/") {
			return "", false
		}
		return rel, true
	}
	imports := map[[2]string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, ok := library(f[0])
		if !ok {
			continue
		}
		if !nodes[pkg] {
			t.Errorf("package %s is not in the diagram", pkg)
		}
		for _, imp := range f[1:] {
			if dep, ok := library(imp); ok {
				imports[[2]string{dep, pkg}] = true
			}
		}
	}
	if len(imports) < 5 {
		t.Fatalf("go list found %d imports between the packages: %q", len(imports), out)
	}
	for e := range imports {
		if !edges[e] {
			t.Errorf("%s imports %s: the diagram lacks %s --> %s", e[1], e[0], e[0], e[1])
		}
	}
	var extra []string
	for e := range edges {
		if !imports[e] {
			extra = append(extra, e[0]+" --> "+e[1])
		}
	}
	slices.Sort(extra)
	for _, e := range extra {
		t.Errorf("the diagram's %s is not an import", e)
	}
}
