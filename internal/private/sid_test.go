package private

import "testing"

// The virtual account's SID is computed, not looked up: checked against
// the SID Windows documents for NT SERVICE\TrustedInstaller.
func TestServiceSID(t *testing.T) {
	if got := serviceSID("TrustedInstaller"); got != "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464" {
		t.Errorf("TrustedInstaller: %s", got)
	}
}
