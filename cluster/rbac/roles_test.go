// Package rbac holds the ClusterRoles an operator applies for K8sTA's tenants
// (packages cannot ship RBAC); this test keeps them from ever granting a
// write on what the provider acts on, and the approver role from granting
// more than approving.
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

var readOnly = []string{"get", "list", "watch"}

// controls are the kinds of provider.k8sta.io a person writes: they decide,
// the provider does not act on them.
var controls = []string{"approvals", "freezes", "pins"}

func roles(t *testing.T, path string) []rbacv1.ClusterRole {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var out []rbacv1.ClusterRole
	for {
		r := rbacv1.ClusterRole{}
		if err := d.Decode(&r); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
}

func writes(rule rbacv1.PolicyRule) bool {
	for _, v := range rule.Verbs {
		if !slices.Contains(readOnly, v) {
			return true
		}
	}
	return false
}

func TestTenantRolesNeverWriteTicketsOrSubscriptions(t *testing.T) {
	aggregates := map[string]map[string]string{}
	for _, r := range roles(t, "tenant-roles.yaml") {
		aggregates[r.Name] = r.Labels
		for _, rule := range r.Rules {
			if !slices.Contains(rule.APIGroups, "provider.k8sta.io") && !slices.Contains(rule.APIGroups, "*") {
				continue
			}
			for _, res := range rule.Resources {
				if writes(rule) && !slices.Contains(controls, res) {
					t.Errorf("ClusterRole %s grants %v on %s of provider.k8sta.io: teams only read Tickets, Subscriptions and ProviderConfigs", r.Name, rule.Verbs, res)
				}
				if writes(rule) && r.Name != "k8sta:aggregate-to-edit" {
					t.Errorf("ClusterRole %s grants %v on %s of provider.k8sta.io: only the edit role writes controls, whoever may view may not freeze, pin or approve", r.Name, rule.Verbs, res)
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

// TestApproverOnlyApproves keeps the approver role to what kubectl k8sta
// approve needs: reading the Track and writing Approvals, never freezing,
// pinning, editing Tracks or aggregating into wider roles. (Its effect on a
// real API server is tested in internal/kubectlk8sta.)
func TestApproverOnlyApproves(t *testing.T) {
	rs := roles(t, "approver-role.yaml")
	if len(rs) != 1 || rs[0].Name != "k8sta-approver" {
		t.Fatalf("approver-role.yaml: want one ClusterRole k8sta-approver, got %d", len(rs))
	}
	if len(rs[0].Labels) != 0 || rs[0].AggregationRule != nil {
		t.Errorf("k8sta-approver aggregates (labels %v, rule %v): it is bound on its own", rs[0].Labels, rs[0].AggregationRule)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{"provider.k8sta.io"}, Resources: []string{"approvals"}, Verbs: []string{"get", "create", "update"}},
		{APIGroups: []string{"k8sta.io", "legacy.k8sta.io"}, Resources: []string{"tracks"}, Verbs: []string{"get"}},
	}
	if diff := cmp.Diff(want, rs[0].Rules); diff != "" {
		t.Errorf("k8sta-approver rules: -want +got:\n%s", diff)
	}
}
