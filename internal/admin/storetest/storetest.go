// Package storetest is the contract every admin.Store implementation passes.
// Each store's own tests call Run with a function that opens a fresh, empty
// store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/atelier-dev/atelier/internal/admin"
)

// Run checks s against the admin.Store contract. open must return a new,
// empty store for every call and close it when its test ends.
func Run(t *testing.T, open func(t *testing.T) admin.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s admin.Store)
	}{
		{"DraftRevisions", testDraftRevisions},
		{"DraftRejectsInvalidJSON", testDraftRejectsInvalidJSON},
		{"ReleaseVersions", testReleaseVersions},
		{"ReleasesEmpty", testReleasesEmpty},
		{"ReleaseImmutable", testReleaseImmutable},
		{"ListReleasesPaging", testListReleasesPaging},
		{"ConcurrentCreateRelease", testConcurrentCreateRelease},
		{"Audit", testAudit},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"Sessions", testSessions},
		{"Ping", testPing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, open(t))
		})
	}
}

// base is a fixed past time with a sub-microsecond part, so the tests see
// that stores truncate to microseconds instead of rounding or failing. It
// lies before any time a store sets from its clock.
var base = time.Date(2021, 3, 14, 15, 9, 26, 535897932, time.UTC)

// micro is t as a store gives it back: UTC, whole microseconds.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error = %v, want %v", what, err, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// between checks a store-set time lies within [from, to] at microsecond
// precision.
func between(t *testing.T, what string, got, from, to time.Time) {
	t.Helper()
	if got.Before(micro(from)) || got.After(to) {
		t.Errorf("%s = %v, want between %v and %v", what, got, from, to)
	}
}

func testDraftRevisions(t *testing.T, s admin.Store) {
	ctx := t.Context()
	d, err := s.GetDraft(ctx)
	must(t, "GetDraft on an empty store", err)
	if d.Revision != 0 || d.Config != nil {
		t.Fatalf("GetDraft on an empty store = %+v, want revision 0 and no config", d)
	}

	_, err = s.SaveDraft(ctx, 1, json.RawMessage(`{}`), "ann")
	wantErr(t, "SaveDraft(base 1) on an empty store", err, admin.ErrConflict)

	// Byte-exact: the draft is kept as written, spacing and key order included.
	first := json.RawMessage(`{"models": [ {"name":"a"} ], "b":1}`)
	before := time.Now()
	rev, err := s.SaveDraft(ctx, 0, first, "ann")
	must(t, "SaveDraft(base 0)", err)
	if rev != 1 {
		t.Errorf("SaveDraft(base 0) = %d, want 1", rev)
	}
	d, err = s.GetDraft(ctx)
	must(t, "GetDraft", err)
	if d.Revision != 1 || string(d.Config) != string(first) || d.UpdatedBy != "ann" {
		t.Errorf("GetDraft = {%d %s %q}, want {1 %s \"ann\"}", d.Revision, d.Config,
			d.UpdatedBy, first)
	}
	between(t, "draft UpdatedAt", d.UpdatedAt, before, time.Now())

	second := json.RawMessage(`{"models":[]}`)
	rev, err = s.SaveDraft(ctx, 1, second, "bob")
	must(t, "SaveDraft(base 1)", err)
	if rev != 2 {
		t.Errorf("SaveDraft(base 1) = %d, want 2", rev)
	}

	for _, stale := range []int64{0, 1, 3, -1} {
		_, err := s.SaveDraft(ctx, stale, json.RawMessage(`{"lost":true}`), "eve")
		wantErr(t, fmt.Sprintf("SaveDraft(base %d) at revision 2", stale), err, admin.ErrConflict)
	}
	d, err = s.GetDraft(ctx)
	must(t, "GetDraft", err)
	if d.Revision != 2 || string(d.Config) != string(second) || d.UpdatedBy != "bob" {
		t.Errorf("GetDraft after stale saves = {%d %s %q}, want {2 %s \"bob\"}",
			d.Revision, d.Config, d.UpdatedBy, second)
	}
}

func testDraftRejectsInvalidJSON(t *testing.T, s admin.Store) {
	ctx := t.Context()
	for _, bad := range []string{``, `{`, `not json`} {
		if _, err := s.SaveDraft(ctx, 0, json.RawMessage(bad), "ann"); err == nil {
			t.Errorf("SaveDraft(%q) = nil error, want one", bad)
		}
	}
	d, err := s.GetDraft(ctx)
	must(t, "GetDraft", err)
	if d.Revision != 0 {
		t.Errorf("GetDraft after rejected saves: revision %d, want 0", d.Revision)
	}
}

// newRelease is the i-th test release.
func newRelease(i int) admin.Release {
	return admin.Release{
		Version:     99, // ignored by the store
		Hash:        fmt.Sprintf("sha256:%064d", i),
		Config:      json.RawMessage(fmt.Sprintf(`{"models":[{"name":"m%d"}]}`, i)),
		Message:     fmt.Sprintf("release %d", i),
		PublishedAt: base.Add(time.Duration(i) * time.Minute),
		PublishedBy: "pub",
	}
}

func testReleaseVersions(t *testing.T, s admin.Store) {
	ctx := t.Context()
	var created []admin.Release
	for i := 1; i <= 3; i++ {
		in := newRelease(i)
		if i == 3 {
			in.RollbackOf = 1
		}
		got, err := s.CreateRelease(ctx, in)
		must(t, fmt.Sprintf("CreateRelease #%d", i), err)
		want := in
		want.Version = int64(i)
		want.PublishedAt = micro(in.PublishedAt)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CreateRelease #%d mismatch (-want +got):\n%s", i, diff)
		}
		created = append(created, want)
	}
	for _, want := range created {
		got, err := s.GetRelease(ctx, want.Version)
		must(t, fmt.Sprintf("GetRelease(%d)", want.Version), err)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("GetRelease(%d) mismatch (-want +got):\n%s", want.Version, diff)
		}
	}
	latest, err := s.LatestRelease(ctx)
	must(t, "LatestRelease", err)
	if diff := cmp.Diff(created[2], latest); diff != "" {
		t.Errorf("LatestRelease mismatch (-want +got):\n%s", diff)
	}
	for _, v := range []int64{0, 4, -1} {
		_, err := s.GetRelease(ctx, v)
		wantErr(t, fmt.Sprintf("GetRelease(%d)", v), err, admin.ErrNotFound)
	}
}

func testReleasesEmpty(t *testing.T, s admin.Store) {
	ctx := t.Context()
	_, err := s.LatestRelease(ctx)
	wantErr(t, "LatestRelease on an empty store", err, admin.ErrNotFound)
	_, err = s.GetRelease(ctx, 1)
	wantErr(t, "GetRelease(1) on an empty store", err, admin.ErrNotFound)
	list, err := s.ListReleases(ctx, 0, 10)
	must(t, "ListReleases on an empty store", err)
	if len(list) != 0 {
		t.Errorf("ListReleases on an empty store = %v, want none", list)
	}
	bad := admin.Release{Hash: "h", Config: json.RawMessage(`{`)}
	if _, err := s.CreateRelease(ctx, bad); err == nil {
		t.Errorf("CreateRelease with invalid JSON config = nil error, want one")
	}
	_, err = s.LatestRelease(ctx)
	wantErr(t, "LatestRelease after a rejected release", err, admin.ErrNotFound)
}

func testReleaseImmutable(t *testing.T, s admin.Store) {
	ctx := t.Context()
	in := newRelease(1)
	in.PublishedAt = time.Time{} // the store sets it
	cfg := append(json.RawMessage(nil), in.Config...)
	before := time.Now()
	got, err := s.CreateRelease(ctx, in)
	must(t, "CreateRelease", err)
	between(t, "PublishedAt set by the store", got.PublishedAt, before, time.Now())
	want := got
	want.Config = append(json.RawMessage(nil), cfg...)

	// Nothing the caller does to its slices afterwards reaches the store.
	for i := range in.Config {
		in.Config[i] = ' '
	}
	for i := range got.Config {
		got.Config[i] = ' '
	}
	again, err := s.GetRelease(ctx, 1)
	must(t, "GetRelease(1)", err)
	for i := range again.Config {
		again.Config[i] = ' '
	}

	// Later writes of every kind leave release 1 as it was.
	_, err = s.CreateRelease(ctx, newRelease(2))
	must(t, "CreateRelease #2", err)
	_, err = s.SaveDraft(ctx, 0, json.RawMessage(`{"models":[]}`), "ed")
	must(t, "SaveDraft", err)

	stored, err := s.GetRelease(ctx, 1)
	must(t, "GetRelease(1)", err)
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("release 1 changed (-want +got):\n%s", diff)
	}
}

func testListReleasesPaging(t *testing.T, s admin.Store) {
	ctx := t.Context()
	var all []admin.Release
	for i := 1; i <= 5; i++ {
		r, err := s.CreateRelease(ctx, newRelease(i))
		must(t, "CreateRelease", err)
		r.Config = nil // lists leave Config out
		all = append(all, r)
	}
	versions := func(rs []admin.Release) []int64 {
		out := []int64{}
		for _, r := range rs {
			out = append(out, r.Version)
		}
		return out
	}
	tests := []struct {
		name   string
		before int64
		limit  int
		want   []int64
	}{
		{"newest page", 0, 2, []int64{5, 4}},
		{"next page", 4, 2, []int64{3, 2}},
		{"last page", 2, 2, []int64{1}},
		{"past the end", 1, 2, []int64{}},
		{"limit above count", 0, 10, []int64{5, 4, 3, 2, 1}},
		{"before above newest", 100, 1, []int64{5}},
		{"no limit", 3, 0, []int64{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListReleases(ctx, tt.before, tt.limit)
			must(t, "ListReleases", err)
			if diff := cmp.Diff(tt.want, versions(got)); diff != "" {
				t.Fatalf("ListReleases(%d, %d) versions (-want +got):\n%s", tt.before, tt.limit, diff)
			}
			for _, r := range got {
				if diff := cmp.Diff(all[r.Version-1], r); diff != "" {
					t.Errorf("ListReleases item %d (-want +got):\n%s", r.Version, diff)
				}
			}
		})
	}
}

func testConcurrentCreateRelease(t *testing.T, s admin.Store) {
	ctx := t.Context()
	const workers, each = 8, 5
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r, err := s.CreateRelease(ctx, newRelease(w*each+i))
				if err != nil {
					t.Errorf("CreateRelease from worker %d: %v", w, err)
					return
				}
				mu.Lock()
				got = append(got, r.Version)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	want := make([]int64, workers*each)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("versions assigned concurrently (-want +got):\n%s", diff)
	}
	latest, err := s.LatestRelease(ctx)
	must(t, "LatestRelease", err)
	if latest.Version != workers*each {
		t.Errorf("LatestRelease version = %d, want %d", latest.Version, workers*each)
	}
}

func testAudit(t *testing.T, s admin.Store) {
	ctx := t.Context()
	entries := []admin.AuditEntry{
		{Time: base, Actor: "ann", Source: "10.0.0.1:5000", Action: "draft.save",
			Target: "draft", Summary: "rev 1"},
		{Time: base.Add(time.Hour), Actor: "bob", Source: "10.0.0.2:5000",
			Action: "release.publish", Target: "release/1", Summary: "v1"},
		{Time: base.Add(2 * time.Hour), Actor: "ann", Source: "10.0.0.1:5001",
			Action: "release.publish", Target: "release/2", Summary: "v2"},
		{Time: base.Add(3 * time.Hour), Actor: "", Source: "10.0.0.9:1",
			Action: "login.failed", Target: "user/eve", Summary: "bad password"},
	}
	for i, e := range entries {
		e.ID = 1000 // set by the store
		must(t, "AppendAudit", s.AppendAudit(ctx, e))
		entries[i].Time = micro(e.Time)
	}
	before := time.Now()
	must(t, "AppendAudit without time", s.AppendAudit(ctx,
		admin.AuditEntry{Actor: "bob", Action: "token.create", Target: "token/1"}))
	after := time.Now()

	all, err := s.ListAudit(ctx, admin.AuditFilter{})
	must(t, "ListAudit", err)
	if len(all) != 5 {
		t.Fatalf("ListAudit returned %d entries, want 5", len(all))
	}
	between(t, "audit Time set by the store", all[0].Time, before, after)
	entries = append(entries, admin.AuditEntry{Time: all[0].Time, Actor: "bob",
		Action: "token.create", Target: "token/1"})
	// IDs grow with each append; the list is newest first.
	for i := range all {
		want := entries[len(entries)-1-i]
		want.ID = all[i].ID
		if diff := cmp.Diff(want, all[i]); diff != "" {
			t.Errorf("ListAudit[%d] (-want +got):\n%s", i, diff)
		}
		if i > 0 && all[i].ID >= all[i-1].ID {
			t.Errorf("ListAudit IDs not descending: %d after %d", all[i].ID, all[i-1].ID)
		}
	}
	id := func(summaryOrTarget string) int64 {
		for _, e := range all {
			if e.Summary == summaryOrTarget || e.Target == summaryOrTarget {
				return e.ID
			}
		}
		t.Fatalf("no audit entry %q", summaryOrTarget)
		return 0
	}
	tests := []struct {
		name string
		f    admin.AuditFilter
		want []string // targets, newest first
	}{
		{"actor", admin.AuditFilter{Actor: "ann"}, []string{"release/2", "draft"}},
		{"action", admin.AuditFilter{Action: "release.publish"},
			[]string{"release/2", "release/1"}},
		{"actor and action", admin.AuditFilter{Actor: "bob", Action: "release.publish"},
			[]string{"release/1"}},
		{"since is inclusive", admin.AuditFilter{Since: base.Add(2 * time.Hour)},
			[]string{"token/1", "user/eve", "release/2"}},
		{"before", admin.AuditFilter{Before: id("v2")},
			[]string{"release/1", "draft"}},
		{"limit", admin.AuditFilter{Limit: 2}, []string{"token/1", "user/eve"}},
		{"cursor pages", admin.AuditFilter{Before: id("user/eve"), Limit: 2},
			[]string{"release/2", "release/1"}},
		{"all filters", admin.AuditFilter{Actor: "ann", Action: "release.publish",
			Since: base, Before: id("token/1"), Limit: 5}, []string{"release/2"}},
		{"no match", admin.AuditFilter{Actor: "nobody"}, []string{}},
		{"before the first", admin.AuditFilter{Before: id("draft")}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tt.f)
			must(t, "ListAudit", err)
			targets := []string{}
			for _, e := range got {
				targets = append(targets, e.Target)
			}
			if diff := cmp.Diff(tt.want, targets); diff != "" {
				t.Errorf("ListAudit(%+v) targets (-want +got):\n%s", tt.f, diff)
			}
		})
	}
}

func testUsers(t *testing.T, s admin.Store) {
	ctx := t.Context()
	n, err := s.CountUsers(ctx)
	must(t, "CountUsers", err)
	if n != 0 {
		t.Errorf("CountUsers on an empty store = %d, want 0", n)
	}
	bob := admin.User{Name: "bob", Role: admin.RoleEditor, PasswordHash: "h1", CreatedAt: base}
	ann := admin.User{Name: "ann", Role: admin.RoleAdmin, PasswordHash: "h2", Disabled: true,
		CreatedAt: base.Add(time.Second)}
	must(t, "CreateUser(bob)", s.CreateUser(ctx, bob))
	must(t, "CreateUser(ann)", s.CreateUser(ctx, ann))
	bob.CreatedAt, ann.CreatedAt = micro(bob.CreatedAt), micro(ann.CreatedAt)

	dup := admin.User{Name: "bob", Role: admin.RoleViewer, PasswordHash: "other"}
	wantErr(t, "CreateUser(duplicate bob)", s.CreateUser(ctx, dup), admin.ErrConflict)

	got, err := s.GetUser(ctx, "bob")
	must(t, "GetUser(bob)", err)
	if diff := cmp.Diff(bob, got); diff != "" {
		t.Errorf("GetUser(bob) (-want +got):\n%s", diff)
	}
	_, err = s.GetUser(ctx, "nobody")
	wantErr(t, "GetUser(nobody)", err, admin.ErrNotFound)

	list, err := s.ListUsers(ctx)
	must(t, "ListUsers", err)
	if diff := cmp.Diff([]admin.User{ann, bob}, list); diff != "" {
		t.Errorf("ListUsers (-want +got):\n%s", diff)
	}
	n, err = s.CountUsers(ctx)
	must(t, "CountUsers", err)
	if n != 2 {
		t.Errorf("CountUsers = %d, want 2", n)
	}

	// UpdateUser changes role, hash and flag, never the name or creation time.
	upd := admin.User{Name: "bob", Role: admin.RolePublisher, PasswordHash: "h3", Disabled: true,
		CreatedAt: base.Add(time.Hour)}
	must(t, "UpdateUser(bob)", s.UpdateUser(ctx, upd))
	got, err = s.GetUser(ctx, "bob")
	must(t, "GetUser(bob)", err)
	want := admin.User{Name: "bob", Role: admin.RolePublisher, PasswordHash: "h3", Disabled: true,
		CreatedAt: bob.CreatedAt}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GetUser(bob) after update (-want +got):\n%s", diff)
	}
	wantErr(t, "UpdateUser(nobody)", s.UpdateUser(ctx, admin.User{Name: "nobody",
		Role: admin.RoleViewer}), admin.ErrNotFound)

	must(t, "DeleteUser(bob)", s.DeleteUser(ctx, "bob"))
	_, err = s.GetUser(ctx, "bob")
	wantErr(t, "GetUser(bob) after delete", err, admin.ErrNotFound)
	wantErr(t, "DeleteUser(bob) again", s.DeleteUser(ctx, "bob"), admin.ErrNotFound)
	n, err = s.CountUsers(ctx)
	must(t, "CountUsers", err)
	if n != 1 {
		t.Errorf("CountUsers after delete = %d, want 1", n)
	}
	// A deleted name can be used again.
	must(t, "CreateUser(bob) after delete", s.CreateUser(ctx, dup))
}

func testTokens(t *testing.T, s admin.Store) {
	ctx := t.Context()
	in := []admin.Token{
		{Name: "ci", Kind: admin.TokenAPI, Role: admin.RolePublisher, Hash: "hash-ci",
			CreatedAt: base, CreatedBy: "ann"},
		{Name: "web-1", Kind: admin.TokenSync, Role: admin.RoleViewer, Hash: "hash-w1",
			CreatedAt: base.Add(time.Second), CreatedBy: "ann"},
		{Name: "web-2", Kind: admin.TokenSync, Role: admin.RoleViewer, Hash: "hash-w2",
			CreatedBy: "bob"},
	}
	var created []admin.Token
	ids := map[int64]bool{}
	for _, tok := range in {
		before := time.Now()
		got, err := s.CreateToken(ctx, tok)
		must(t, "CreateToken("+tok.Name+")", err)
		if got.ID == 0 || ids[got.ID] {
			t.Errorf("CreateToken(%s) ID = %d, want a new non-zero one", tok.Name, got.ID)
		}
		ids[got.ID] = true
		want := tok
		want.ID = got.ID
		want.CreatedAt = micro(tok.CreatedAt)
		if tok.CreatedAt.IsZero() {
			between(t, "token CreatedAt set by the store", got.CreatedAt, before, time.Now())
			want.CreatedAt = got.CreatedAt
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("CreateToken(%s) (-want +got):\n%s", tok.Name, diff)
		}
		created = append(created, want)
	}
	_, err := s.CreateToken(ctx, admin.Token{Name: "copy", Kind: admin.TokenAPI,
		Role: admin.RoleViewer, Hash: "hash-ci"})
	wantErr(t, "CreateToken with a taken hash", err, admin.ErrConflict)

	got, err := s.TokenByHash(ctx, "hash-w1")
	must(t, "TokenByHash", err)
	if diff := cmp.Diff(created[1], got); diff != "" {
		t.Errorf("TokenByHash (-want +got):\n%s", diff)
	}
	_, err = s.TokenByHash(ctx, "nope")
	wantErr(t, "TokenByHash(unknown)", err, admin.ErrNotFound)

	list, err := s.ListTokens(ctx)
	must(t, "ListTokens", err)
	if diff := cmp.Diff(created, list); diff != "" {
		t.Errorf("ListTokens (-want +got):\n%s", diff)
	}
	countSync(t, s, 2)

	used := base.Add(time.Hour)
	must(t, "TouchToken", s.TouchToken(ctx, created[0].ID, used))
	wantErr(t, "TouchToken(unknown)", s.TouchToken(ctx, 999999, used), admin.ErrNotFound)
	revoked := base.Add(2 * time.Hour)
	must(t, "RevokeToken", s.RevokeToken(ctx, created[1].ID, revoked))
	// A second revocation keeps the first time.
	must(t, "RevokeToken again", s.RevokeToken(ctx, created[1].ID, revoked.Add(time.Hour)))
	wantErr(t, "RevokeToken(unknown)", s.RevokeToken(ctx, 999999, revoked), admin.ErrNotFound)
	countSync(t, s, 1)

	usedAt, revokedAt := micro(used), micro(revoked)
	created[0].LastUsedAt = &usedAt
	created[1].RevokedAt = &revokedAt
	got, err = s.TokenByHash(ctx, "hash-w1")
	must(t, "TokenByHash(revoked)", err)
	if diff := cmp.Diff(created[1], got); diff != "" {
		t.Errorf("TokenByHash(revoked) (-want +got):\n%s", diff)
	}
	list, err = s.ListTokens(ctx)
	must(t, "ListTokens", err)
	if diff := cmp.Diff(created, list); diff != "" {
		t.Errorf("ListTokens after touch and revoke (-want +got):\n%s", diff)
	}
	must(t, "RevokeToken(api)", s.RevokeToken(ctx, created[0].ID, revoked))
	countSync(t, s, 1) // API tokens never counted
}

func countSync(t *testing.T, s admin.Store, want int) {
	t.Helper()
	n, err := s.CountSyncTokens(t.Context())
	must(t, "CountSyncTokens", err)
	if n != want {
		t.Errorf("CountSyncTokens = %d, want %d", n, want)
	}
}

func testSessions(t *testing.T, s admin.Store) {
	ctx := t.Context()
	for _, name := range []string{"ann", "bob"} {
		must(t, "CreateUser", s.CreateUser(ctx, admin.User{Name: name, Role: admin.RoleViewer,
			PasswordHash: "h"}))
	}
	sessions := []admin.Session{
		{IDHash: "s-ann-1", User: "ann", CreatedAt: base, ExpiresAt: base.Add(time.Hour)},
		{IDHash: "s-ann-2", User: "ann", CreatedAt: base, ExpiresAt: base.Add(2 * time.Hour)},
		{IDHash: "s-bob-1", User: "bob", CreatedAt: base, ExpiresAt: base.Add(time.Hour)},
	}
	for i, sess := range sessions {
		must(t, "CreateSession("+sess.IDHash+")", s.CreateSession(ctx, sess))
		sessions[i].CreatedAt = micro(sess.CreatedAt)
		sessions[i].ExpiresAt = micro(sess.ExpiresAt)
	}
	wantErr(t, "CreateSession with a taken hash", s.CreateSession(ctx, admin.Session{
		IDHash: "s-ann-1", User: "bob", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}),
		admin.ErrConflict)
	wantErr(t, "CreateSession for an unknown user", s.CreateSession(ctx, admin.Session{
		IDHash: "s-x", User: "nobody", CreatedAt: base, ExpiresAt: base.Add(time.Hour)}),
		admin.ErrNotFound)

	got, err := s.GetSession(ctx, "s-ann-1", base.Add(time.Minute))
	must(t, "GetSession", err)
	if diff := cmp.Diff(sessions[0], got); diff != "" {
		t.Errorf("GetSession (-want +got):\n%s", diff)
	}
	expiry := []struct {
		name string
		now  time.Time
		want error
	}{
		{"just before expiry", base.Add(time.Hour - time.Microsecond), nil},
		{"at expiry", base.Add(time.Hour), admin.ErrNotFound},
		{"after expiry", base.Add(90 * time.Minute), admin.ErrNotFound},
	}
	for _, tt := range expiry {
		_, err := s.GetSession(ctx, "s-ann-1", micro(tt.now))
		wantErr(t, "GetSession "+tt.name, err, tt.want)
	}
	_, err = s.GetSession(ctx, "s-unknown", base)
	wantErr(t, "GetSession(unknown)", err, admin.ErrNotFound)

	must(t, "DeleteSession", s.DeleteSession(ctx, "s-ann-2"))
	_, err = s.GetSession(ctx, "s-ann-2", base)
	wantErr(t, "GetSession after DeleteSession", err, admin.ErrNotFound)
	must(t, "DeleteSession again (logging out twice)", s.DeleteSession(ctx, "s-ann-2"))

	must(t, "DeleteUserSessions(ann)", s.DeleteUserSessions(ctx, "ann"))
	_, err = s.GetSession(ctx, "s-ann-1", base)
	wantErr(t, "GetSession after DeleteUserSessions", err, admin.ErrNotFound)
	_, err = s.GetSession(ctx, "s-bob-1", base)
	must(t, "GetSession of another user after DeleteUserSessions(ann)", err)

	// Deleting a user ends its sessions.
	must(t, "DeleteUser(bob)", s.DeleteUser(ctx, "bob"))
	_, err = s.GetSession(ctx, "s-bob-1", base)
	wantErr(t, "GetSession after DeleteUser", err, admin.ErrNotFound)
}

func testPing(t *testing.T, s admin.Store) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
