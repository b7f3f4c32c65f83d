// Package certs is day2's adapter for finding X.509 certificates: PEM files
// and bundles, kubeconfigs, the certificate directories of OpenShift 3.11,
// OpenShift 4 and kubeadm hosts, and kubernetes.io/tls secrets. It reads
// certificates only: private keys are never kept, logged or returned, and
// files ending in .key are never opened.
package certs

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/day2ops/day2/model"
)

const pemCertificate = "CERTIFICATE"

// ParsePEM returns every CERTIFICATE block in data, so a bundle yields all of
// its certificates; Block is the block's position among all PEM blocks of the
// data. Other blocks (private keys, CSRs, CRLs) are skipped unread. A block
// that does not parse is an error naming source and block, and the other
// certificates are still returned. Data that holds text but no PEM block at
// all, or a block header that does not decode, is an error too: a file named
// as a certificate that yields nothing is worth the operator's attention.
func ParsePEM(source string, data []byte) ([]model.Certificate, error) {
	var certs []model.Certificate
	var errs []error
	i := 0
	for ; ; i++ {
		block, rest := pem.Decode(data)
		if block == nil {
			if bytes.Contains(rest, []byte("-----BEGIN")) {
				errs = append(errs, fmt.Errorf("parse %s block %d: malformed PEM", source, i))
			}
			break
		}
		data = rest
		if block.Type != pemCertificate {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse %s block %d: %w", source, i, err))
			continue
		}
		certs = append(certs, model.NewCertificate(c, source, i))
	}
	if i == 0 && len(errs) == 0 && len(bytes.TrimSpace(data)) > 0 {
		errs = append(errs, fmt.Errorf("parse %s: no PEM data", source))
	}
	return certs, errors.Join(errs...)
}
