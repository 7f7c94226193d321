package render

import (
	"bytes"
	"encoding/json"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"

	"github.com/k8sta/k8sta/apis/v1alpha1"
)

// RecordPath is where a rendered branch records the change it holds.
const RecordPath = ".k8sta/change.yaml"

// ManifestsPath is where a rendered branch holds the Build output.
const ManifestsPath = "manifests.yaml"

// Record is what a rendered branch holds, written at RecordPath: the change
// rendered, and where it was rendered for.
type Record struct {
	// Track is the Track's "<namespace>/<name>".
	Track   string
	Station string
	Overlay string
	// Change is the change rendered. Its DiscoveredAt is not recorded: it is
	// when a Subscription saw the change, not what was rendered.
	Change v1alpha1.Change
}

// recordFile is a Record as written at RecordPath. Its layout is the one
// every K8sTA release has written, so that a branch rendered by any of them
// reads, and a provider rolled back still knows the branches it rendered.
type recordFile struct {
	Track    string           `json:"track"`
	Station  string           `json:"station"`
	ChangeID string           `json:"changeID"`
	Commit   string           `json:"commit"`
	Images   []v1alpha1.Image `json:"images,omitempty"`
	Overlay  string           `json:"overlay"`
}

// Tree returns the whole content of a rendered branch: the Build output at
// ManifestsPath and the record, as YAML, at RecordPath. The record's YAML is
// the same bytes for the same record; images keep the order given.
func Tree(manifests []byte, rec Record) map[string][]byte {
	return map[string][]byte{
		ManifestsPath: manifests,
		RecordPath:    marshalRecord(rec),
	}
}

// marshalRecord writes the record's fields in the order recordFile declares
// them, as block YAML that quotes only what would not read back as a string.
func marshalRecord(rec Record) []byte {
	j, err := json.Marshal(recordFile{
		Track: rec.Track, Station: rec.Station, Overlay: rec.Overlay,
		ChangeID: rec.Change.ID, Commit: rec.Change.Commit, Images: rec.Change.Images,
	})
	// Encoding a struct of strings cannot fail, nor can reading the JSON
	// back as YAML, nor writing it into a buffer.
	if err != nil {
		panic(err)
	}
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(j, &doc); err != nil {
		panic(err)
	}
	goStyle(&doc)
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		panic(err)
	}
	if err := enc.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// goStyle gives every node the style yamlv3 gives a Go value: block
// collections, and a string quoted only when it would read back as
// something else, under YAML 1.1 too (yes, 1e10, ~).
func goStyle(n *yamlv3.Node) {
	n.Style = 0
	if n.Kind == yamlv3.ScalarNode {
		var asGo yamlv3.Node
		// Encoding a string cannot fail.
		_ = asGo.Encode(n.Value)
		n.Style = asGo.Style
	}
	for _, c := range n.Content {
		goStyle(c)
	}
}

// ParseRecord reads the record written at RecordPath. Fields it does not
// know are ignored, so a record written by a newer K8sTA still reads.
func ParseRecord(data []byte) (Record, error) {
	var f recordFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		return Record{}, errors.Wrapf(err, "cannot parse %s", RecordPath)
	}
	if f.ChangeID == "" {
		return Record{}, errors.Errorf("cannot parse %s: changeID is empty", RecordPath)
	}
	return Record{
		Track: f.Track, Station: f.Station, Overlay: f.Overlay,
		Change: v1alpha1.Change{ID: f.ChangeID, Commit: f.Commit, Images: f.Images},
	}, nil
}
