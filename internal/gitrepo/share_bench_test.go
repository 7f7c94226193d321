package gitrepo

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/k8sta/k8sta/internal/testing/gitserver"
)

// BenchmarkTwentyReaders: one op is 20 readers that each need a view of the
// clone no older than the op's start, as 20 Subscriptions woken by one
// webhook do. "shared" is FetchSince; "one-each" is what each reader cost
// before fetches were shared: a fetch of its own, one after the other on the
// clone's lock.
func BenchmarkTwentyReaders(b *testing.B) {
	const readers = 20
	s := gitserver.New(b)
	s.CreateRepo(b, "config", gitserver.KustomizeTree())
	ctx := context.Background()
	for _, mode := range []string{"shared", "one-each"} {
		b.Run(mode, func(b *testing.B) {
			r := open(b, newCache(b, WithFetchWindow(time.Hour)), s.URL("config"), Auth{})
			if err := r.Fetch(ctx); err != nil {
				b.Fatal(err)
			}
			before := s.Sessions("config", gitserver.UploadPack)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				var wg sync.WaitGroup
				for range readers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var err error
						if mode == "shared" {
							err = r.FetchSince(ctx, start)
						} else {
							r.mu.Lock()
							err = r.fetch(ctx)
							r.mu.Unlock()
						}
						if err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(s.Sessions("config", gitserver.UploadPack)-before)/float64(b.N), "upload-packs/op")
		})
	}
}
