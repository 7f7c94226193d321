// Package rbac holds the ClusterRoles an operator applies for K8sTA's tenants
// (packages cannot ship RBAC); this test keeps them from ever granting a
// write on what the provider acts on.
package rbac

import (
	"bytes"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

func TestTenantRolesNeverWriteTicketsOrSubscriptions(t *testing.T) {
	data, err := os.ReadFile("tenant-roles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	aggregates := map[string]map[string]string{}
	readOnly := []string{"get", "list", "watch"}
	for {
		r := rbacv1.ClusterRole{}
		if err := d.Decode(&r); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		aggregates[r.Name] = r.Labels
		for _, rule := range r.Rules {
			if !slices.Contains(rule.APIGroups, "provider.k8sta.io") && !slices.Contains(rule.APIGroups, "*") {
				continue
			}
			for _, v := range rule.Verbs {
				if !slices.Contains(readOnly, v) {
					t.Errorf("ClusterRole %s grants %q on %v of provider.k8sta.io: teams only read Tickets and Subscriptions", r.Name, v, rule.Resources)
				}
			}
		}
	}
	want := map[string]map[string]string{
		"k8sta:aggregate-to-edit": {"rbac.authorization.k8s.io/aggregate-to-edit": "true", "rbac.authorization.k8s.io/aggregate-to-admin": "true"},
		"k8sta:aggregate-to-view": {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
	}
	if diff := cmp.Diff(want, aggregates); diff != "" {
		t.Errorf("ClusterRoles and their aggregation labels: -want +got:\n%s", diff)
	}
}
