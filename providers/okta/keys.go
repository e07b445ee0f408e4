package okta

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The OAuth app's private key, as the Admin Console gives it, and what is
// signed with it: the client assertions and DPoP proofs.

// ParsePrivateKey reads a private key, RSA or EC, as PEM (PKCS#1, SEC 1 or
// PKCS#8) or as a JWK (parseKey). Its errors never quote the key.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	k, _, err := parseKey(data)
	return k, err
}

// parseKey is ParsePrivateKey that also returns a JWK's kid ("" for PEM):
// the Admin Console's "Generate new key" shows the private key as a JWK
// unless PEM is chosen, and the kid in it is the one Okta registered.
func parseKey(data []byte) (crypto.Signer, string, error) {
	if text := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\ufeff"))); bytes.HasPrefix(text, []byte("{")) {
		return parseJWK(text)
	}
	k, err := parsePEM(data)
	return k, "", err
}

// parseJWK reads a private JWK, or a JWK set holding one.
func parseJWK(text []byte) (crypto.Signer, string, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if json.Unmarshal(text, &set) == nil && set.Keys != nil {
		if len(set.Keys) != 1 {
			return nil, "", fmt.Errorf("the JWK set holds %d keys; give the one private key registered with the app", len(set.Keys))
		}
		text = set.Keys[0]
	}
	var k jose.JSONWebKey
	if err := k.UnmarshalJSON(text); err != nil {
		// Its words may quote the key's members: not repeated.
		return nil, "", errors.New("not a readable JWK private key; give the private key as Okta showed it (JSON or PEM)")
	}
	if k.IsPublic() {
		return nil, "", errors.New("the JWK holds a public key; give the private key (Okta shows it once, when the key is generated)")
	}
	switch key := k.Key.(type) {
	case *rsa.PrivateKey:
		return key, k.KeyID, nil
	case *ecdsa.PrivateKey:
		return key, k.KeyID, nil
	}
	return nil, "", errors.New("the JWK is neither an RSA nor an EC private key; Okta service apps take RSA or EC keys")
}

// parsePEM reads a PEM private key: RSA (PKCS#1 or PKCS#8) or EC (SEC 1 or
// PKCS#8). The key need not be the file's first block: `openssl ecparam
// -genkey` writes the curve's parameters before it, and a bundle may hold
// the app's certificate or public key too; the key's is the one read.
func parsePEM(data []byte) (crypto.Signer, error) {
	var blocks []*pem.Block
	for rest := data; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) == 0 && bytes.HasPrefix(bytes.TrimSpace(data), []byte("PuTTY-User-Key-File-")) {
		return nil, errors.New("the private key is a PuTTY key (.ppk); in PuTTYgen, load it and use Conversions > Export OpenSSH key, " +
			"which writes PEM, and give that")
	}
	if len(blocks) == 0 {
		return nil, errors.New("neither PEM nor a JWK; give the private key as PEM (-----BEGIN PRIVATE KEY-----) or as the JSON Okta showed")
	}
	var block *pem.Block
	for _, b := range blocks {
		if strings.HasSuffix(b.Type, "PRIVATE KEY") {
			block = b
			break
		}
	}
	switch {
	case block == nil && (strings.Contains(blocks[0].Type, "PUBLIC") || strings.Contains(blocks[0].Type, "CERTIFICATE")):
		return nil, fmt.Errorf("the PEM holds a %s; give the private key, not the public key registered with the app", strings.ToLower(blocks[0].Type))
	case block == nil:
		return nil, fmt.Errorf("the PEM holds no private key, only %s; give the file that holds the private key", strings.ToLower(blocks[0].Type))
	case block.Type == "OPENSSH PRIVATE KEY":
		return nil, errors.New("the private key is in OpenSSH's own format (ssh-keygen's default); write a copy as PKCS#8 PEM " +
			"with: ssh-keygen -p -m PKCS8 -f COPY (it rewrites the file in place), and give that")
	case block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED"):
		// The connector seals the key itself; it cannot ask for a
		// passphrase at every run.
		return nil, errors.New("the private key is encrypted with a passphrase; give it decrypted on standard input, and the " +
			"connector seals it itself: openssl pkcs8 -topk8 -nocrypt -in KEY.pem | neurons-connector connector add|edit … " +
			"--private-key-stdin (openssl asks for the passphrase; no decrypted copy is written)")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, errors.New("the private key is neither RSA nor EC; Okta service apps take RSA or EC keys")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("the %s block is not a readable RSA or EC private key (PKCS#1, PKCS#8 or SEC 1)", strings.ToLower(block.Type))
}

// assertion signs a client assertion: iss = sub = the client ID, aud the
// token endpoint, five minutes of life, a unique jti.
func (o *oauthApp) assertion() (string, error) {
	alg, err := algorithm(o.cfg.Key)
	if err != nil {
		return "", err
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if o.cfg.KeyID != "" {
		opts = opts.WithHeader("kid", o.cfg.KeyID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: o.cfg.Key}, opts)
	if err != nil {
		return "", fmt.Errorf("okta: sign the client assertion: %w", err)
	}
	now := o.now()
	return jwt.Signed(signer).Claims(jwt.Claims{Issuer: o.cfg.ClientID, Subject: o.cfg.ClientID, Audience: jwt.Audience{o.tokenURL},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: randomID()}).Serialize()
}

// proof signs a DPoP proof for method and url; token, when set, is the
// access token the request carries (its hash goes in ath).
func (o *oauthApp) proof(method, url, token string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: o.dpop},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return "", fmt.Errorf("okta: sign a DPoP proof: %w", err)
	}
	claims := map[string]any{"htm": method, "htu": url, "iat": o.now().Unix(), "jti": randomID()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if o.nonce != "" {
		claims["nonce"] = o.nonce
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}

// algorithm is the signing algorithm for the app's key.
func algorithm(k crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return jose.RS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
	}
	return "", errors.New("okta: the app's key must be RSA or EC (P-256, P-384, P-521)")
}

func randomID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
