package fanouttest

import (
	"encoding/json"
	"testing"
)

func TestSeqOf(t *testing.T) {
	msg, err := json.Marshal(NewMsg(42))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		frame string
		want  int
	}{
		{string(msg), 42},
		{`{"push":{"channel":"r","pub":{"data":{"seq":7,"user":"alice","text":"hi"}}}}`, 7},
		{`{"id":1,"connect":{"client":"c"}}`, -1},
		{`"joined"`, -1},
		{`{"seq":12`, -1},
		{`{"seq":x,"user":"alice"}`, -1},
	} {
		if got := seqOf([]byte(tc.frame)); got != tc.want {
			t.Errorf("seqOf(%s) = %d, want %d", tc.frame, got, tc.want)
		}
	}
}
