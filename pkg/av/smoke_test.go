package av

import "testing"

const eicar = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

func TestSmoke(t *testing.T) {
	db, sk, err := LoadFiles("testdata/eicar.ndb", "testdata/eicar.hdb", "testdata/eicar.hsb")
	if err != nil || len(sk) > 0 {
		t.Fatal(err, sk)
	}
	s := db.NewStream(StreamOptions{})
	s.Write([]byte(eicar))
	s.Close()
	for _, h := range s.Hits() {
		t.Logf("%+v", h)
	}
}
