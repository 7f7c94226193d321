package render

import (
	"bytes"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// RecordPath is where a rendered branch records the change it holds.
const RecordPath = ".k8sta/change.yaml"

// ManifestsPath is where a rendered branch holds the Build output.
const ManifestsPath = "manifests.yaml"

// Record is the change a rendered branch holds, written at RecordPath.
type Record struct {
	Track    string  `json:"track" yaml:"track"`
	Station  string  `json:"station" yaml:"station"`
	ChangeID string  `json:"changeID" yaml:"changeID"`
	Commit   string  `json:"commit" yaml:"commit"`
	Images   []Image `json:"images,omitempty" yaml:"images,omitempty"`
	Overlay  string  `json:"overlay" yaml:"overlay"`
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

// marshalRecord writes the record's fields in their declared order.
func marshalRecord(rec Record) []byte {
	var b bytes.Buffer
	enc := yamlv3.NewEncoder(&b)
	enc.SetIndent(2)
	// Encoding a struct of strings into a buffer cannot fail.
	if err := enc.Encode(rec); err != nil {
		panic(err)
	}
	if err := enc.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// ParseRecord reads the record written at RecordPath. Fields it does not
// know are ignored, so a record written by a newer K8sTA still reads.
func ParseRecord(data []byte) (Record, error) {
	var rec Record
	if err := yaml.Unmarshal(data, &rec); err != nil {
		return Record{}, errors.Wrapf(err, "cannot parse %s", RecordPath)
	}
	if rec.ChangeID == "" {
		return Record{}, errors.Errorf("cannot parse %s: changeID is empty", RecordPath)
	}
	return rec, nil
}
