package report

// OldJSON is the line the JSON writer wrote for s when encoding/json wrote
// it (json_old_test.go).
var OldJSON = oldJSON
