// Package metrics owns the daemon's Prometheus metrics: counters fed by
// every finished run, and gauges read from the database at each scrape, so
// that they are right after a restart too. It keeps its own registry (no
// global state) and serves it through Handler.
package metrics

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"neurons-connector/connector"
	"neurons-connector/store"
)

const namespace = "neurons_connector"

// Gauge is one connector's figures that live in the database.
type Gauge struct {
	Connector   string
	Type        string
	Outbox      int     // batches waiting for the sink
	Held        int     // deletes the deletion guard holds
	Refused     int     // records in the batch the sink refused, which delivery waits behind; 0 none
	NotAccepted int     // records the sink acknowledged short since the last resend
	LastSuccess float64 // Unix seconds of the end of the last successful run; 0 never
}

// Metrics is the daemon's registry.
type Metrics struct {
	reg                       *prometheus.Registry
	runs                      *prometheus.CounterVec
	fetched, upserts, deletes *prometheus.CounterVec
	calls                     *prometheus.CounterVec
	waitSeconds               *prometheus.CounterVec
	db                        *dbCollector
}

// New builds the registry; gauges is called at every scrape.
func New(gauges func() ([]Gauge, error)) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	m := &Metrics{
		reg:         prometheus.NewRegistry(),
		runs:        counter("runs_total", "Runs finished, by connector, mode and result (ok, held, failed, cancelled).", "connector", "mode", "result"),
		fetched:     counter("users_fetched_total", "Users read from the provider.", "connector"),
		upserts:     counter("upserts_total", "Upserts queued for the sink.", "connector"),
		deletes:     counter("deletes_total", "Deletes queued for the sink.", "connector"),
		calls:       counter("api_calls_total", "Provider API calls by provider and HTTP status (0: no response).", "provider", "code"),
		waitSeconds: counter("rate_limit_wait_seconds_total", "Time runs spent waiting on provider rate limits.", "connector"),
	}
	m.db = &dbCollector{read: gauges}
	m.reg.MustRegister(m.runs, m.fetched, m.upserts, m.deletes, m.calls, m.waitSeconds, m.db,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// RunFinished counts a finished run.
func (m *Metrics) RunFinished(c connector.Config, r store.Run) {
	m.runs.WithLabelValues(c.Name, r.Mode, r.Result).Inc()
	m.fetched.WithLabelValues(c.Name).Add(float64(r.Fetched))
	m.upserts.WithLabelValues(c.Name).Add(float64(r.Upserted))
	m.deletes.WithLabelValues(c.Name).Add(float64(r.Deleted))
	m.waitSeconds.WithLabelValues(c.Name).Add(r.RateLimitWait.Seconds())
	for code, n := range r.APIResponses {
		m.calls.WithLabelValues(string(c.Kind), strconv.Itoa(code)).Add(float64(n))
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// dbCollector reads the gauges from the database when scraped.
type dbCollector struct {
	read    func() ([]Gauge, error)
	damaged func() error // the damage met so far (store.DB.Damaged); nil: none watched
}

// WatchDamage adds neurons_connector_database_damaged, 1 once the daemon
// has met a damaged database (store.DB.Damaged). A scrape that meets the
// damage itself serves that gauge and the process's figures instead of
// failing whole, so that an alert on it can fire.
func (m *Metrics) WatchDamage(damaged func() error) { m.db.damaged = damaged }

var (
	outboxDesc = prometheus.NewDesc(namespace+"_outbox_batches", "Batches waiting in the outbox for the sink.",
		[]string{"connector", "type"}, nil)
	heldDesc = prometheus.NewDesc(namespace+"_held_deletes", "Deletes the deletion guard holds until an admin confirms them (run NAME --confirm-deletes).",
		[]string{"connector", "type"}, nil)
	refusedDesc = prometheus.NewDesc(namespace+"_refused_batch_records",
		"Records of the batch the sink refused (400), which every later batch waits behind; 0 when none (status NAME says how to get past it).",
		[]string{"connector", "type"}, nil)
	notAcceptedDesc = prometheus.NewDesc(namespace+"_records_not_accepted",
		"Records the sink acknowledged fewer of than it was sent ({\"accepted\": N}) since the last resend (run NAME --resend).",
		[]string{"connector", "type"}, nil)
	successDesc = prometheus.NewDesc(namespace+"_last_success_timestamp_seconds",
		"End of the connector's last successful run, Unix seconds (absent: never).", []string{"connector", "type"}, nil)
	damagedDesc = prometheus.NewDesc(namespace+"_database_damaged",
		"1 once the daemon met a damaged database file (README: A damaged database), else 0.", nil, nil)
)

func (d *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDesc
	ch <- heldDesc
	ch <- refusedDesc
	ch <- notAcceptedDesc
	ch <- successDesc
	ch <- damagedDesc
}

func (d *dbCollector) Collect(ch chan<- prometheus.Metric) {
	gauges, err := d.read()
	if d.damaged != nil {
		v := 0.0
		if d.damaged() != nil || errors.Is(err, store.ErrDamaged) {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(damagedDesc, prometheus.GaugeValue, v)
		if errors.Is(err, store.ErrDamaged) {
			return // the gauge says it; the rest of the scrape still serves
		}
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDesc, err)
		return
	}
	for _, g := range gauges {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(g.Outbox), g.Connector, g.Type)
		ch <- prometheus.MustNewConstMetric(heldDesc, prometheus.GaugeValue, float64(g.Held), g.Connector, g.Type)
		ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.GaugeValue, float64(g.Refused), g.Connector, g.Type)
		ch <- prometheus.MustNewConstMetric(notAcceptedDesc, prometheus.GaugeValue, float64(g.NotAccepted), g.Connector, g.Type)
		if g.LastSuccess > 0 {
			ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, g.LastSuccess, g.Connector, g.Type)
		}
	}
}
