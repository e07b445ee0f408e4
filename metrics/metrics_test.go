package metrics

import (
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"neurons-connector/connector"
	"neurons-connector/store"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetricsCountRunsAndReadGauges(t *testing.T) {
	m := New(func() ([]Gauge, error) {
		return []Gauge{{Connector: "Okta prod", Type: "okta", Outbox: 3, LastSuccess: 1.7e9, Refused: 2, NotAccepted: 5}, {Connector: "New", Type: "onelogin"}}, nil
	})
	c := connector.Config{Name: "Okta prod", Kind: "okta"}
	m.RunFinished(c, store.Run{Mode: "full", Result: "ok", Fetched: 120, Upserted: 100, Deleted: 2,
		RateLimitWait: 1500 * time.Millisecond, APIResponses: map[int]int{200: 7, 429: 1}})
	m.RunFinished(c, store.Run{Mode: "incremental", Result: "failed", APIResponses: map[int]int{0: 2}})
	body := scrape(t, m)
	for _, want := range []string{
		`neurons_connector_runs_total{connector="Okta prod",mode="full",result="ok"} 1`,
		`neurons_connector_runs_total{connector="Okta prod",mode="incremental",result="failed"} 1`,
		`neurons_connector_users_fetched_total{connector="Okta prod"} 120`,
		`neurons_connector_upserts_total{connector="Okta prod"} 100`,
		`neurons_connector_deletes_total{connector="Okta prod"} 2`,
		`neurons_connector_api_calls_total{code="200",provider="okta"} 7`,
		`neurons_connector_api_calls_total{code="429",provider="okta"} 1`,
		`neurons_connector_api_calls_total{code="0",provider="okta"} 2`,
		`neurons_connector_rate_limit_wait_seconds_total{connector="Okta prod"} 1.5`,
		`neurons_connector_outbox_batches{connector="Okta prod",type="okta"} 3`,
		`neurons_connector_outbox_batches{connector="New",type="onelogin"} 0`,
		`neurons_connector_refused_batch_records{connector="Okta prod",type="okta"} 2`,
		`neurons_connector_refused_batch_records{connector="New",type="onelogin"} 0`,
		`neurons_connector_records_not_accepted{connector="Okta prod",type="okta"} 5`,
		`neurons_connector_last_success_timestamp_seconds{connector="Okta prod",type="okta"} 1.7e+09`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `last_success_timestamp_seconds{connector="New"`) {
		t.Error("a connector that never succeeded has a last success time")
	}
}

func TestMetricsReportAnUnreadableDatabase(t *testing.T) {
	m := New(func() ([]Gauge, error) { return nil, errors.New("database closed") })
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "database closed") {
		t.Errorf("%d %s", rec.Code, rec.Body.String())
	}
}

// A damaged database: the gauge says so, and the scrape still serves
// (a scrape that failed whole would hide the gauge an alert watches).
func TestMetricsReportADamagedDatabase(t *testing.T) {
	var damage error
	read := func() ([]Gauge, error) {
		if damage != nil {
			return nil, damage
		}
		return []Gauge{{Connector: "A", Type: "okta"}}, nil
	}
	m := New(read)
	m.WatchDamage(func() error { return damage })
	scrape := func() (int, string) {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := scrape(); code != 200 || !strings.Contains(body, "neurons_connector_database_damaged 0") ||
		!strings.Contains(body, `neurons_connector_outbox_batches{connector="A",type="okta"} 0`) {
		t.Errorf("sound: %d %s", code, body)
	}
	damage = &store.DamagedError{Path: "/x/neurons-connector.db", Cause: "invalid page type"}
	if code, body := scrape(); code != 200 || !strings.Contains(body, "neurons_connector_database_damaged 1") ||
		strings.Contains(body, "neurons_connector_outbox_batches{") || !strings.Contains(body, "go_goroutines") {
		t.Errorf("damaged: %d %s", code, body)
	}
}
