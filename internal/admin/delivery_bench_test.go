package admin_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atelier-dev/atelier/internal/admin"
	"github.com/atelier-dev/atelier/internal/config"
)

// BenchmarkDelivery measures what one publish costs to deliver to many
// waiting main services, held streams against long polls, in the same
// process and run. cpu-µs/delivery is the process's CPU time (server and
// clients together) per release delivered to one waiter; compare the two
// sub-benchmarks' numbers as a ratio, not as absolute times.
//
//	go test -run '^$' -bench Delivery -benchtime 20x ./internal/admin/
func BenchmarkDelivery(b *testing.B) {
	for _, kind := range []string{"stream", "watch"} {
		b.Run(fmt.Sprintf("%s/waiters=200", kind), func(b *testing.B) {
			benchDelivery(b, kind, 200)
		})
	}
}

func benchDelivery(b *testing.B, kind string, waiters int) {
	e := newEnv(b)
	e.importStarter(e.tokens[admin.RoleEditor])
	first := e.publish("v1")

	tr := &http.Transport{MaxIdleConnsPerHost: waiters, MaxConnsPerHost: 0}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	got := map[int64]int{} // version -> waiters that received it
	cond := sync.NewCond(&mu)
	deliver := func(v int64) {
		mu.Lock()
		got[v]++
		cond.Broadcast()
		mu.Unlock()
	}
	token := e.tokens[admin.RoleViewer]
	for range waiters {
		if kind == "stream" {
			go streamWaiter(ctx, client, e.ts.URL, token, first.Version, deliver)
		} else {
			go watchWaiter(ctx, client, e.ts.URL, token, first.Version, deliver)
		}
	}
	time.Sleep(500 * time.Millisecond) // every waiter connected and held

	snap := starterSnapshot(b)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		next := snap.Sections()
		next.Models = append([]config.Model(nil), snap.Models...)
		next.Models[0].SortOrder = 100 + i
		rel, err := e.srv.Publish(context.Background(), &next, "bench", "bench")
		if err != nil {
			b.Fatal(err)
		}
		mu.Lock()
		for got[rel.Version] < waiters {
			cond.Wait()
		}
		mu.Unlock()
	}
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*waiters), "cpu-µs/delivery")
}

func streamWaiter(ctx context.Context, c *http.Client, base, token string, since int64,
	deliver func(int64)) {
	req, _ := http.NewRequestWithContext(ctx, "GET",
		fmt.Sprintf("%s/api/admin/config-sync/stream?version=%d", base, since), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if id, ok := strings.CutPrefix(sc.Text(), "id: "); ok {
			var v int64
			fmt.Sscan(id, &v)
			deliver(v)
		}
	}
}

func watchWaiter(ctx context.Context, c *http.Client, base, token string, since int64,
	deliver func(int64)) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf(
			"%s/api/admin/config-sync/watch?version=%d&timeout=60s", base, since), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return
		}
		v := since
		if resp.StatusCode == http.StatusOK {
			fmt.Sscan(resp.Header.Get("X-Config-Version"), &v)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if v != since {
			since = v
			deliver(v)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func starterSnapshot(tb testing.TB) *config.Snapshot {
	tb.Helper()
	dir, _ := starterYAML(tb)
	s, err := config.Load(dir + "/" + config.LocalConfigName)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
