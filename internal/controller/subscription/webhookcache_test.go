package subscription

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The receiver's cache keeps of a labelled Secret only what the receiver
// reads, so that tenants labelling big Secrets cannot fill the provider's
// memory: no other data, annotations or managed fields, and a token only
// within MaxWebhookTokenBytes.
func TestWebhookSecretTransform(t *testing.T) {
	controller := true
	meta := metav1.ObjectMeta{
		Namespace: "team-a", Name: "hooks", UID: "uid-1", ResourceVersion: "7",
		Labels:          map[string]string{WebhookSecretLabel: WebhookSecretLabelValueProviderConfig},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "k8sta.io/v1alpha1", Kind: "Subscription", Name: "app", UID: "uid-s", Controller: &controller}},
	}
	full := meta
	full.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(bytes.Repeat([]byte("a"), 1<<20))}
	full.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}
	token := []byte("Zk3s9Qm2u8VtYw4Lr7Pn1Xc6Bh5Dj0Ga_-Ke3Sf9Tq2")
	cases := map[string]struct {
		in   *corev1.Secret
		want *corev1.Secret
	}{
		"KeepsTheTokenDropsTheRest": {
			in: &corev1.Secret{ObjectMeta: full, Data: map[string][]byte{
				WebhookSecretKey: token, "github": []byte("key"), "big": bytes.Repeat([]byte("x"), 1<<20),
			}, StringData: map[string]string{"other": "x"}, Type: corev1.SecretTypeOpaque},
			want: &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{WebhookSecretKey: token}},
		},
		"TokenAtTheBound": {
			in:   &corev1.Secret{ObjectMeta: full, Data: map[string][]byte{WebhookSecretKey: bytes.Repeat([]byte("t"), MaxWebhookTokenBytes)}},
			want: &corev1.Secret{ObjectMeta: meta, Data: map[string][]byte{WebhookSecretKey: bytes.Repeat([]byte("t"), MaxWebhookTokenBytes)}},
		},
		"TokenOverTheBoundIsDropped": {
			in:   &corev1.Secret{ObjectMeta: full, Data: map[string][]byte{WebhookSecretKey: bytes.Repeat([]byte("t"), 1<<20)}},
			want: &corev1.Secret{ObjectMeta: meta},
		},
		"NoToken": {
			in:   &corev1.Secret{ObjectMeta: full, Data: map[string][]byte{"big": bytes.Repeat([]byte("x"), 1<<20)}},
			want: &corev1.Secret{ObjectMeta: meta},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := WebhookSecretTransform(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
	for o, b := range WebhookCacheByObject() {
		if _, ok := o.(*corev1.Secret); ok && b.Transform == nil {
			t.Error("the receiver's Secret cache has no transform")
		}
	}
}
