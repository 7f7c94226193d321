package kubeenv

import (
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// TrackCRD is the Track XRD (package/configuration/xrd.yaml) served as a
// plain CRD, with a status subresource and the status.conditions Crossplane
// adds to every XR, so that tests can create Tracks and write their status by
// hand without running Crossplane.
func TrackCRD() (*apiextensionsv1.CustomResourceDefinition, error) {
	return crdOf(filepath.Join("package", "configuration", "xrd.yaml"), "k8sta.io")
}

// LegacyTrackCRD is the claim kind Track of the legacy XRD
// (examples/legacy/xrd.yaml) served as a plain CRD, as TrackCRD serves the
// Track, with the spec.resourceRef Crossplane adds to every claim: its
// XTrack.
func LegacyTrackCRD() (*apiextensionsv1.CustomResourceDefinition, error) {
	crd, err := crdOf(filepath.Join("examples", "legacy", "xrd.yaml"), "legacy.k8sta.io")
	if err != nil {
		return nil, err
	}
	schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	spec := schema.Properties["spec"]
	spec.Properties["resourceRef"] = apiextensionsv1.JSONSchemaProps{Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{
		"apiVersion": {Type: "string"}, "kind": {Type: "string"}, "name": {Type: "string"},
	}}
	schema.Properties["spec"] = spec
	return crd, nil
}

// crdOf serves the single version of the XRD at path (from the repository's
// root) as a namespaced CRD Track of group.
func crdOf(path, group string) (*apiextensionsv1.CustomResourceDefinition, error) {
	b, err := os.ReadFile(filepath.Join(repoRoot(), path))
	if err != nil {
		return nil, errors.Wrap(err, "cannot read the Track XRD")
	}
	xrd := struct {
		Spec struct {
			Versions []struct {
				Name                     string                                           `json:"name"`
				AdditionalPrinterColumns []apiextensionsv1.CustomResourceColumnDefinition `json:"additionalPrinterColumns"`
				Schema                   struct {
					OpenAPIV3Schema apiextensionsv1.JSONSchemaProps `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}{}
	if err := yaml.Unmarshal(b, &xrd); err != nil {
		return nil, errors.Wrap(err, "cannot parse the Track XRD")
	}
	if len(xrd.Spec.Versions) != 1 {
		return nil, errors.Errorf("the Track XRD has %d versions, want 1", len(xrd.Spec.Versions))
	}
	v := xrd.Spec.Versions[0]
	schema := v.Schema.OpenAPIV3Schema
	schema.Properties["apiVersion"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
	schema.Properties["kind"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
	schema.Properties["metadata"] = apiextensionsv1.JSONSchemaProps{Type: "object"}
	status := schema.Properties["status"]
	status.Properties["conditions"] = apiextensionsv1.JSONSchemaProps{
		Type: "array",
		Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
			Type:     "object",
			Required: []string{"type", "status", "reason", "lastTransitionTime"},
			Properties: map[string]apiextensionsv1.JSONSchemaProps{
				"type":               {Type: "string"},
				"status":             {Type: "string"},
				"reason":             {Type: "string"},
				"message":            {Type: "string"},
				"lastTransitionTime": {Type: "string", Format: "date-time"},
				"observedGeneration": {Type: "integer", Format: "int64"},
			},
		}},
		XListType:    ptr.To("map"),
		XListMapKeys: []string{"type"},
	}
	schema.Properties["status"] = status
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: "tracks." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: "Track", ListKind: "TrackList", Plural: "tracks", Singular: "track"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: v.Name, Served: true, Storage: true,
				Schema:                   &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &schema},
				AdditionalPrinterColumns: v.AdditionalPrinterColumns,
				Subresources:             &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}, nil
}
