package writes

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
)

// sink is the Recorder under test's next: it keeps what reaches it.
type sink struct{ got []string }

func (s *sink) Event(obj runtime.Object, e event.Event) {
	s.got = append(s.got, obj.(metav1.Object).GetName()+" "+string(e.Reason)+": "+e.Message)
}
func (s *sink) WithAnnotations(...string) event.Recorder { return s }

func TestDropRepeats(t *testing.T) {
	a := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", UID: "uid-a"}}
	b := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "b", UID: "uid-b"}}
	failed := event.Warning("CannotObserveExternalResource", errors.New("spec.forProvider.overlay does not exist"))
	other := event.Warning("CannotObserveExternalResource", errors.New("git credentials were refused"))
	updated := event.Normal("UpdatedExternalResource", "Successfully requested update of external resource")
	type recording struct {
		obj   *corev1.ConfigMap
		e     event.Event
		after time.Duration // since the previous recording
	}
	cases := map[string]struct {
		recordings []recording
		want       []string
	}{
		"AnErrorAtEveryRetryIsRecordedOnce": {
			recordings: []recording{{a, failed, 0}, {a, failed, time.Second}, {a, failed, time.Minute}},
			want:       []string{"a CannotObserveExternalResource: spec.forProvider.overlay does not exist"},
		},
		"TheSameEventOnAnotherObjectIsRecorded": {
			recordings: []recording{{a, failed, 0}, {b, failed, time.Second}},
			want: []string{
				"a CannotObserveExternalResource: spec.forProvider.overlay does not exist",
				"b CannotObserveExternalResource: spec.forProvider.overlay does not exist",
			},
		},
		"ADifferentMessageIsRecorded": {
			recordings: []recording{{a, failed, 0}, {a, other, time.Second}},
			want: []string{
				"a CannotObserveExternalResource: spec.forProvider.overlay does not exist",
				"a CannotObserveExternalResource: git credentials were refused",
			},
		},
		"AnEventAfterAnotherIsRecordedAgain": {
			recordings: []recording{{a, failed, 0}, {a, updated, time.Second}, {a, failed, time.Second}},
			want: []string{
				"a CannotObserveExternalResource: spec.forProvider.overlay does not exist",
				"a UpdatedExternalResource: Successfully requested update of external resource",
				"a CannotObserveExternalResource: spec.forProvider.overlay does not exist",
			},
		},
		"ARepeatPastTheWindowIsRecorded": {
			recordings: []recording{{a, failed, 0}, {a, failed, DefaultRepeatWindow}},
			want: []string{
				"a CannotObserveExternalResource: spec.forProvider.overlay does not exist",
				"a CannotObserveExternalResource: spec.forProvider.overlay does not exist",
			},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s := &sink{}
			clock := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
			r := DropRepeats(s, DefaultRepeatWindow).(*repeatFilter)
			r.seen.now = func() time.Time { return clock }
			for _, rec := range tc.recordings {
				clock = clock.Add(rec.after)
				// As the managed reconciler does: a Recorder with
				// annotations of its own for each reconcile.
				r.WithAnnotations("external-name", rec.obj.GetName()).Event(rec.obj, rec.e)
			}
			if diff := cmp.Diff(tc.want, s.got); diff != "" {
				t.Errorf("recorded events: -want +got:\n%s", diff)
			}
		})
	}
}

// The objects remembered are bounded: past maxRemembered, the oldest is
// forgotten, and its next Event is recorded even if it repeats.
func TestDropRepeatsForgetsTheOldestPastItsBound(t *testing.T) {
	s := &sink{}
	clock := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	r := DropRepeats(s, DefaultRepeatWindow).(*repeatFilter)
	r.seen.now = func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	e := event.Normal("Rendered", "rendered")
	first := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "first", UID: "uid-first"}}
	r.Event(first, e)
	for i := range maxRemembered {
		r.Event(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "o", UID: uid(i)}}, e)
	}
	if n := len(r.seen.last); n > maxRemembered {
		t.Fatalf("remembers %d objects, more than %d", n, maxRemembered)
	}
	s.got = nil
	r.Event(first, e)
	if diff := cmp.Diff([]string{"first Rendered: rendered"}, s.got); diff != "" {
		t.Errorf("the forgotten object's repeat: -want +got:\n%s", diff)
	}
}

func uid(i int) k8stypes.UID { return k8stypes.UID("uid-" + strconv.Itoa(i)) }
