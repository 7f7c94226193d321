package registry

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// naivePoll is the approach the Client avoids: list the tags and resolve
// every one of them, every poll.
func naivePoll(ctx context.Context, pl *remote.Puller, repo name.Repository) (int, error) {
	tags, err := pl.List(ctx, repo)
	if err != nil {
		return 0, err
	}
	for _, t := range tags {
		if _, err := pl.Get(ctx, repo.Tag(t)); err != nil {
			return 0, err
		}
	}
	return len(tags), nil
}

// BenchmarkPoll500Tags measures registry HTTP requests per poll against a
// repository of 500 tags: an idle poll, a poll with one new tag, and a naive
// poll that resolves every tag. Run with -benchtime=20x or so.
func BenchmarkPoll500Tags(b *testing.B) {
	reg := newTestRegistry(b)
	repo := reg.repo("acme/big")
	img := testImage(b, t0, "linux", "amd64")
	tags := make([]string, 0, 500)
	for i := range 500 {
		tags = append(tags, fmt.Sprintf("1.%d.%d", i/50, i%50))
	}
	push(b, repo, img, tags...)
	ctx := context.Background()
	seq := 0 // every pushed tag is a higher version, built later

	// First, before the other runs push tags.
	b.Run("naive", func(b *testing.B) {
		cnt := newCounter()
		pl, err := remote.NewPuller(remote.WithTransport(cnt))
		if err != nil {
			b.Fatal(err)
		}
		r, err := name.NewRepository(repo)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := naivePoll(ctx, pl, r); err != nil { // authenticate once, as the Client does
			b.Fatal(err)
		}
		cnt.take()
		b.ResetTimer()
		for range b.N {
			if _, err := naivePoll(ctx, pl, r); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(cnt.all.Load())/float64(b.N), "requests/op")
	})

	for _, tc := range []struct {
		name string
		p    Policy
	}{
		{"SemVer", Policy{Repository: repo, Strategy: SemVer}},
		{"SemVerPlatform", Policy{Repository: repo, Strategy: SemVer, Platform: "linux/amd64"}},
		{"NewestBuild", Policy{Repository: repo, Strategy: NewestBuild, DiscoveryLimit: 20}},
	} {
		b.Run(tc.name+"/idle", func(b *testing.B) {
			cnt := newCounter()
			c := NewClient(WithTransport(cnt), WithTagsWindow(0))
			if _, err := c.Select(ctx, tc.p); err != nil {
				b.Fatal(err)
			}
			cnt.take()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Select(ctx, tc.p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cnt.all.Load())/float64(b.N), "requests/op")
		})
		b.Run(tc.name+"/one-new-tag", func(b *testing.B) {
			cnt := newCounter()
			c := NewClient(WithTransport(cnt), WithTagsWindow(0))
			if _, err := c.Select(ctx, tc.p); err != nil {
				b.Fatal(err)
			}
			var requests int64
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				seq++
				tag := fmt.Sprintf("2.0.%d", seq)
				push(b, repo, testImage(b, t0.Add(time.Duration(seq)*time.Minute), "linux", "amd64"), tag)
				cnt.take()
				b.StartTimer()
				s, err := c.Select(ctx, tc.p)
				if err != nil {
					b.Fatal(err)
				}
				requests += cnt.all.Load()
				if s.Tag != tag {
					b.Fatalf("selected %s, want the new tag %s", s.Tag, tag)
				}
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
		})
	}
}
