package mapping

import (
	"encoding/csv"
	"fmt"
	"io"

	"github.com/gocarina/gocsv"
)

// Export writes the table as CSV (the "mapping overview"): the header and
// its rows as loaded, notes included, so that loading the output again gives
// the same table and the same hash.
func (t *Table) Export(w io.Writer) error {
	rows := t.Rows()
	cw := csv.NewWriter(w)
	if err := gocsv.MarshalCSV(&rows, gocsv.NewSafeCSVWriter(cw)); err != nil {
		return fmt.Errorf("write mapping table: %w", err)
	}
	cw.Flush()
	return cw.Error()
}
