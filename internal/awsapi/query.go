package awsapi

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/lamina-dev/lamina/internal/fault"
)

// The AWS query protocol (SNS, and SQS for clients older than its switch to
// JSON) sends the operation and its input as form parameters:
//
//	POST / HTTP/1.1        (SQS: also POST /{account}/{queue})
//	Content-Type: application/x-www-form-urlencoded; charset=utf-8
//
//	Action=Publish&Version=2010-03-31&TopicArn=...&MessageAttributes.entry.1.Name=k&...
//
// and answers in XML. Nested input is flattened into dotted names the way
// botocore's QuerySerializer (and every SDK generated from the same models)
// writes them:
//
//   - lists: "Name.member.N" (SNS), or flattened "Name.N" where the model
//     says so (SQS: AttributeName.N, MessageAttributeName.N, TagKey.N, and
//     batch entries SendMessageBatchRequestEntry.N.Id ...), N from 1;
//     an empty list is sent as "Name=" and so reads as no elements;
//   - maps: "Name.entry.N.key" / ".value" (SNS Attributes), flattened
//     "Attribute.N.Name" / ".Value" and "Tag.N.Key" / ".Value" (SQS);
//   - structures: "Prefix.Member"; blobs base64; booleans true/false.
//
// The helpers below take the full prefix up to the index ("AttributeName",
// "AttributeNames.member", "Attributes.entry", "MessageAttribute") so one
// implementation serves both services' spellings.

// XML namespaces of the two query services' responses.
const (
	SQSQueryNamespace = "http://queue.amazonaws.com/doc/2012-11-05/"
	SNSQueryNamespace = "http://sns.amazonaws.com/doc/2010-03-31/"
)

// Codes of AWS's common query-protocol errors, carried as fault.Error.Reason
// by ParseQuery's errors so the service edges can send them as <Code>.
const (
	QueryCodeMissingAction        = "MissingAction"
	QueryCodeMalformedQueryString = "MalformedQueryString"
)

// contentTypeForm is the query protocol's request content type.
const contentTypeForm = "application/x-www-form-urlencoded"

// ParseQuery reads a query-protocol request: the form body of a POST (at most
// limit bytes) or the query string of a GET. Parameters in the URL of a POST
// are kept too, after the body's, so a client that puts Action in the URL is
// still understood while the body decides any parameter both carry.
//
// Errors are *fault.Error: InvalidContent for a body that is not a form
// (Reason MalformedQueryString for bad escapes), TooLarge over limit, and
// Invalid with Reason MissingAction when there is no Action.
func ParseQuery(r *http.Request, limit int64) (action, version string, params url.Values, err error) {
	params, err = url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "", "", nil, malformedQuery(err)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Body != nil {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, perr := mime.ParseMediaType(ct)
			// Only the media type matters: SDKs add "; charset=utf-8" and
			// form encoding is ASCII whatever the charset says.
			if perr != nil || !strings.EqualFold(mt, contentTypeForm) {
				return "", "", nil, fault.New(fault.InvalidContent,
					"The query protocol expects a %s body, not %q.", contentTypeForm, ct)
			}
		}
		// No Content-Type at all is read as a form: curl-made and some old
		// clients omit it, and a body that is not a form fails below anyway.
		body, rerr := io.ReadAll(io.LimitReader(r.Body, limit+1))
		var mbe *http.MaxBytesError
		switch {
		case errors.As(rerr, &mbe) || int64(len(body)) > limit:
			return "", "", nil, fault.New(fault.TooLarge, "Request must be smaller than %d bytes.", limit)
		case rerr != nil:
			return "", "", nil, fault.Wrap(fault.InvalidContent, rerr, "The request body could not be read.")
		}
		form, perr := url.ParseQuery(string(body))
		if perr != nil {
			return "", "", nil, malformedQuery(perr)
		}
		for k, vs := range params {
			if _, ok := form[k]; !ok {
				form[k] = vs
			}
		}
		params = form
	}
	action = params.Get("Action")
	if action == "" {
		e := fault.New(fault.Invalid, "The request must contain the parameter Action.")
		e.Reason = QueryCodeMissingAction
		return "", "", nil, e
	}
	return action, params.Get("Version"), params, nil
}

func malformedQuery(err error) error {
	e := fault.Wrap(fault.InvalidContent, err, "The query string is malformed.")
	e.Reason = QueryCodeMalformedQueryString
	return e
}

// queryIndices returns the indices N (ascending) of the parameters named
// prefix.N or prefix.N.<anything>. Indices are read rather than counted from
// 1 until the first gap so that a sparse list loses no element; only
// canonical positive decimals count ("01" and "0" do not), which keeps each
// element reachable under exactly one name.
func queryIndices(params url.Values, prefix string) []int {
	p := prefix + "."
	var idx []int
	for k := range params {
		rest, ok := strings.CutPrefix(k, p)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if num == "" || num[0] == '0' || len(num) > 9 {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 {
			continue
		}
		idx = append(idx, n)
	}
	slices.Sort(idx)
	return slices.Compact(idx)
}

// QueryList reads a list of strings sent as prefix.1, prefix.2, ... in index
// order: QueryList(p, "AttributeName") for SQS, QueryList(p,
// "AttributeNames.member") for SNS-style lists. Nil when there are none.
func QueryList(params url.Values, prefix string) []string {
	var out []string
	for _, n := range queryIndices(params, prefix) {
		if vs, ok := params[prefix+"."+strconv.Itoa(n)]; ok {
			out = append(out, vs[0])
		}
	}
	return out
}

// QueryMembers splits a list of structures sent as prefix.N.Member into one
// url.Values per element, in index order, with "prefix.N." removed from the
// names: QueryMembers(p, "SendMessageBatchRequestEntry") (SQS) or
// QueryMembers(p, "PublishBatchRequestEntries.member") (SNS), then read each
// element's Id, MessageBody, nested attributes... from its own Values.
func QueryMembers(params url.Values, prefix string) []url.Values {
	idx := queryIndices(params, prefix)
	if len(idx) == 0 {
		return nil
	}
	pos := make(map[int]int, len(idx))
	out := make([]url.Values, len(idx))
	for i, n := range idx {
		pos[n] = i
		out[i] = url.Values{}
	}
	p := prefix + "."
	for k, vs := range params {
		rest, ok := strings.CutPrefix(k, p)
		if !ok {
			continue
		}
		num, member, ok := strings.Cut(rest, ".")
		if !ok || member == "" {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || strconv.Itoa(n) != num {
			continue
		}
		if i, ok := pos[n]; ok {
			out[i][member] = vs
		}
	}
	// An index seen only as a bare "prefix.N" (no member) is not a structure.
	return slices.DeleteFunc(out, func(v url.Values) bool { return len(v) == 0 })
}

// QueryMap reads a map sent as prefix.N.<keyName> / prefix.N.<valueName>:
// QueryMap(p, "Attribute", "Name", "Value") and QueryMap(p, "Tag", "Key",
// "Value") for SQS, QueryMap(p, "Attributes.entry", "key", "value") for SNS.
// An entry without its key is refused; one without its value maps to ""
// (how an empty value is sent); a key given twice is refused rather than
// silently resolved. Nil when there are no entries.
func QueryMap(params url.Values, prefix, keyName, valueName string) (map[string]string, error) {
	var out map[string]string
	for _, n := range queryIndices(params, prefix) {
		base := prefix + "." + strconv.Itoa(n) + "."
		kv, ok := params[base+keyName]
		if !ok {
			return nil, fault.New(fault.Invalid, "%s%s is required.", base, keyName)
		}
		if out == nil {
			out = map[string]string{}
		}
		if _, dup := out[kv[0]]; dup {
			return nil, fault.New(fault.Invalid, "%s %q is given more than once.", keyName, kv[0])
		}
		out[kv[0]] = params.Get(base + valueName)
	}
	return out, nil
}

// QueryMessageAttributes reads message attributes sent as
// prefix.N.Name and prefix.N.Value.{DataType,StringValue,BinaryValue,
// StringListValue.M,BinaryListValue.M}: prefix "MessageAttribute" or
// "MessageSystemAttribute" for SQS (also inside a batch entry's Values from
// QueryMembers), "MessageAttributes.entry" for SNS. BinaryValue and binary
// list members are base64. A StringValue present but empty is kept as a
// pointer to "" (it is part of the digest); checking names, data types and
// values against SQS's or SNS's rules is left to the caller, which knows the
// service's messages. Nil when there are none.
func QueryMessageAttributes(params url.Values, prefix string) (map[string]MessageAttributeValue, error) {
	// One pass groups the parameters by entry; each entry is then read from
	// its own few parameters, so the cost stays linear in the request.
	entries := QueryMembers(params, prefix)
	if len(entries) == 0 {
		return nil, nil
	}
	out := make(map[string]MessageAttributeValue, len(entries))
	for _, p := range entries {
		nv, ok := p["Name"]
		if !ok {
			return nil, fault.New(fault.Invalid, "Every %s entry needs a Name.", prefix)
		}
		name := nv[0]
		if _, dup := out[name]; dup {
			return nil, fault.New(fault.Invalid, "Message attribute name %q is given more than once.", name)
		}
		v := MessageAttributeValue{DataType: p.Get("Value.DataType")}
		if sv, ok := p["Value.StringValue"]; ok {
			s := sv[0]
			v.StringValue = &s
		}
		if bv, ok := p["Value.BinaryValue"]; ok {
			b, err := decodeQueryBlob(name, bv[0])
			if err != nil {
				return nil, err
			}
			v.BinaryValue = b
		}
		v.StringListValues = QueryList(p, "Value.StringListValue")
		for _, s := range QueryList(p, "Value.BinaryListValue") {
			b, err := decodeQueryBlob(name, s)
			if err != nil {
				return nil, err
			}
			v.BinaryListValues = append(v.BinaryListValues, b)
		}
		out[name] = v
	}
	return out, nil
}

// decodeQueryBlob decodes a base64 blob value of attribute name. The result
// is never nil (an empty blob is still a BinaryValue, transport type 2 in the
// digest).
func decodeQueryBlob(name, s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fault.New(fault.Invalid, "The binary value of message attribute %q is not valid base64.", name)
	}
	if b == nil {
		b = []byte{}
	}
	return b, nil
}

// Helpers for maps in query results, which encoding/xml cannot marshal.

// QueryEntryMap marshals as SNS's non-flattened map shape,
// <entry><key>k</key><value>v</value></entry>..., sorted by key, inside the
// element its field names (e.g. `xml:"Attributes"`).
type QueryEntryMap map[string]string

// MarshalXML implements xml.Marshaler.
func (m QueryEntryMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	type entry struct {
		Key   string `xml:"key"`
		Value string `xml:"value"`
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	entries := make([]entry, len(keys))
	for i, k := range keys {
		entries[i] = entry{k, m[k]}
	}
	return e.EncodeElement(struct {
		Entries []entry `xml:"entry"`
	}{entries}, start)
}

// QueryNameValue is one entry of SQS's flattened string maps: a field
// `Attributes []QueryNameValue xml:"Attribute"` writes
// <Attribute><Name>k</Name><Value>v</Value></Attribute>... (queue attributes,
// message system attributes, with Key instead of Name for tags: use
// QueryKeyValue).
type QueryNameValue struct {
	Name  string
	Value string
}

// QueryNameValues turns m into entries sorted by name.
func QueryNameValues(m map[string]string) []QueryNameValue {
	out := make([]QueryNameValue, 0, len(m))
	for k, v := range m {
		out = append(out, QueryNameValue{k, v})
	}
	slices.SortFunc(out, func(a, b QueryNameValue) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// QueryKeyValue is one entry of SQS's flattened tag map (<Tag><Key>..</Key>
// <Value>..</Value></Tag>) and of SNS's tag lists (<member><Key>..).
type QueryKeyValue struct {
	Key   string
	Value string
}

// QueryKeyValues turns m into entries sorted by key.
func QueryKeyValues(m map[string]string) []QueryKeyValue {
	out := make([]QueryKeyValue, 0, len(m))
	for k, v := range m {
		out = append(out, QueryKeyValue{k, v})
	}
	slices.SortFunc(out, func(a, b QueryKeyValue) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// QueryMessageAttribute is one entry of SQS's flattened message attribute
// map in received messages: `xml:"MessageAttribute"` writes
// <MessageAttribute><Name>k</Name><Value><StringValue>..</StringValue>
// <DataType>..</DataType></Value></MessageAttribute>.
type QueryMessageAttribute struct {
	Name  string
	Value MessageAttributeValue
}

// QueryMessageAttributeList turns attrs into entries sorted by name.
func QueryMessageAttributeList(attrs map[string]MessageAttributeValue) []QueryMessageAttribute {
	out := make([]QueryMessageAttribute, 0, len(attrs))
	for k, v := range attrs {
		out = append(out, QueryMessageAttribute{k, v})
	}
	slices.SortFunc(out, func(a, b QueryMessageAttribute) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// contentTypeXML is what SQS and SNS send with query responses.
const contentTypeXML = "text/xml"

// WriteQueryResponse writes a query-protocol success:
//
//	<{action}Response xmlns="{namespace}">
//	  <{action}Result>...result's fields...</{action}Result>
//	  <ResponseMetadata><RequestId>{requestID}</RequestId></ResponseMetadata>
//	</{action}Response>
//
// A nil result (operations without output: DeleteQueue, SetQueueAttributes,
// Unsubscribe...) writes no Result element, as AWS does. result is marshalled
// with encoding/xml (its own XMLName, if any, is replaced by the Result
// name). Nothing is written if marshalling fails, so the caller can still
// answer with an error.
func WriteQueryResponse(w http.ResponseWriter, action, namespace, requestID string, result any) error {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	root := xml.StartElement{Name: xml.Name{Local: action + "Response"}}
	if namespace != "" {
		root.Attr = []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: namespace}}
	}
	if err := enc.EncodeToken(root); err != nil {
		return err
	}
	if result != nil {
		if err := enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}}); err != nil {
			return err
		}
	}
	meta := struct {
		RequestID string `xml:"RequestId"`
	}{requestID}
	if err := enc.EncodeElement(meta, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}}); err != nil {
		return err
	}
	if err := enc.EncodeToken(root.End()); err != nil {
		return err
	}
	if err := enc.Flush(); err != nil {
		return err
	}
	writeXML(w, http.StatusOK, buf.Bytes())
	return nil
}

// WriteQueryError writes a query-protocol error:
//
//	<ErrorResponse xmlns="{namespace}">
//	  <Error><Type>{typ}</Type><Code>{code}</Code><Message>{message}</Message></Error>
//	  <RequestId>{requestID}</RequestId>
//	</ErrorResponse>
//
// typ is "Sender" for caller faults and "Receiver" for ours. SQS adds an
// empty <Detail/> after Message and SNS does not, so it is written exactly
// when namespace is SQSQueryNamespace. Clients read Code (botocore and the
// Go SDKs take it as the error code) and Message.
func WriteQueryError(w http.ResponseWriter, status int, namespace, typ, code, message, requestID string) {
	type errorBody struct {
		Type    string
		Code    string
		Message string
		Detail  *struct{} `xml:",omitempty"`
	}
	var doc struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr,omitempty"`
		Error     errorBody
		RequestID string `xml:"RequestId"`
	}
	doc.Xmlns = namespace
	doc.Error = errorBody{Type: typ, Code: code, Message: message}
	doc.RequestID = requestID
	if namespace == SQSQueryNamespace {
		doc.Error.Detail = &struct{}{}
	}
	// Strings always marshal; there is no error to return.
	b, _ := xml.Marshal(doc)
	writeXML(w, status, b)
}

func writeXML(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentTypeXML)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
