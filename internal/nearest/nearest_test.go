package nearest

import "testing"

func TestName(t *testing.T) {
	known := []string{"NC_NEURONS_URL", "NC_NEURONS_TOKEN_URL", "NC_CSV_DIR", "NC_LOG_LEVEL"}
	for _, tc := range []struct {
		name string
		max  int
		want string
	}{
		{"NC_NEURON_URL", 3, "NC_NEURONS_URL"},
		{"nc_log_level", 3, "NC_LOG_LEVEL"},
		{"NC_CSV_DRI", 3, "NC_CSV_DIR"},
		{"NC_SOMETHING_ELSE", 3, ""},
		{"NC_CSV_DIR", 0, "NC_CSV_DIR"},
	} {
		if got := Name(tc.name, known, tc.max); got != tc.want {
			t.Errorf("Name(%q, %d) = %q, want %q", tc.name, tc.max, got, tc.want)
		}
	}
	if d := Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance = %d", d)
	}
}
