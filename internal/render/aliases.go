package render

import (
	"bytes"

	yaml "go.yaml.in/yaml/v3"
)

// nodeBudget is what is left of Limits.MaxYAMLNodes for one render: the
// nodes of every YAML document that uses an alias, counted with each alias
// expanded. kustomize expands aliases (into copies of the anchored node, or
// on the way to JSON), so a few hundred bytes of nested aliases cost it
// gigabytes. A document without aliases is not counted: its nodes are
// bounded by its bytes.
type nodeBudget struct {
	limit int64
	left  int64
}

func newNodeBudget(limit int64) *nodeBudget { return &nodeBudget{limit: limit, left: limit} }

// charge counts the expanded nodes of content's documents that use aliases
// and takes them from the budget, or returns a *LimitError naming file and
// field once the budget is spent. The YAML is parsed into yaml.Node trees,
// which keep each alias as one node pointing at its anchor, so parsing costs
// what the bytes cost, and the count is memoised per anchored node. Content
// that is not YAML is left alone: kustomize either does not parse it as YAML
// or reports it.
func (b *nodeBudget) charge(file, field string, content []byte) error {
	if !mayHoldAliases(content) {
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return nil //nolint:nilerr // io.EOF, or not YAML: see above.
		}
		memo := map[*yaml.Node]int64{}
		n := expandedNodes(&doc, memo, b.left)
		if !usesAlias(memo) {
			continue
		}
		if n > b.left {
			b.left = 0
			return &LimitError{Bound: ErrAliasExpansion, File: file, Field: field, Limit: b.limit, Unit: "nodes"}
		}
		b.left -= n
	}
}

// mayHoldAliases is false for content that cannot hold a YAML alias, which
// needs an anchor (&name) and a reference (*name).
func mayHoldAliases(content []byte) bool {
	return bytes.IndexByte(content, '*') >= 0 && bytes.IndexByte(content, '&') >= 0
}

// inProgress marks a node whose count is being computed: an alias that
// reaches it again refers to itself and expands without end.
const inProgress = -1

// aliasSeen is memoised under the nil node when any alias was expanded.
var aliasSeen *yaml.Node

// expandedNodes returns how many nodes n stands for with every alias
// expanded, or a number above limit once it is above limit.
func expandedNodes(n *yaml.Node, memo map[*yaml.Node]int64, limit int64) int64 {
	if n == nil {
		return 0
	}
	if c, ok := memo[n]; ok {
		if c == inProgress {
			return limit + 1
		}
		return c
	}
	memo[n] = inProgress
	var c int64
	if n.Kind == yaml.AliasNode {
		memo[aliasSeen] = 1
		c = expandedNodes(n.Alias, memo, limit)
	} else {
		c = 1
		for _, child := range n.Content {
			c += expandedNodes(child, memo, limit)
			if c > limit {
				break
			}
		}
	}
	if c > limit {
		c = limit + 1
	}
	memo[n] = c
	return c
}

func usesAlias(memo map[*yaml.Node]int64) bool {
	_, ok := memo[aliasSeen]
	return ok
}
