/*
Copyright 2026 The tekton-step-source Authors

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// reservedAttributes are the CloudEvents context attributes (required and
// optional, CloudEvents 1.0) that each event sets itself, plus the extensions
// of the event contract that do not start with ExtensionPrefix (sequence,
// partitionkey, replay). ceOverrides may not replace them: an override
// would break event identity (id, source, type), order or the filtering
// contract.
var reservedAttributes = map[string]bool{
	"id": true, "source": true, "specversion": true, "type": true,
	"datacontenttype": true, "dataschema": true, "subject": true, "time": true,
	"data": true, "data_base64": true,
	"sequence": true, "partitionkey": true, "replay": true,
}

// ExtensionPrefix starts the name of every extension attribute of the event
// contract (tektontaskrun, tektonstep, ...).
const ExtensionPrefix = "tekton"

// AttributeNamePattern is what a CloudEvents attribute name is (CloudEvents
// 1.0: lowercase ASCII letters and digits). Knative's SourceSpec validation
// also lets uppercase letters through, which the CloudEvents SDK lowercases
// when it sets the extension: Env and env would be one extension, with
// whichever value comes last.
const AttributeNamePattern = `^[a-z0-9]+$`

// ForbiddenInAttributeValues matches what a ceOverrides value may not hold,
// in RE2 syntax (the CRD's CEL rule uses it too): what CloudEvents 1.0
// forbids in a String (the control characters U+0000-U+001F and
// U+007F-U+009F, and the noncharacters; surrogates cannot occur in UTF-8),
// and a leading or trailing space, which the binary HTTP binding, as a
// header value, does not carry (receivers trim it). A newline, which a
// YAML block scalar ends with, would make every binary-mode send fail.
var ForbiddenInAttributeValues = func() string {
	class := `\x00-\x1f\x7f-\x9f\x{fdd0}-\x{fdef}`
	for plane := 0; plane <= 0x10; plane++ {
		class += fmt.Sprintf(`\x{%x}\x{%x}`, plane<<16|0xfffe, plane<<16|0xffff)
	}
	return `[` + class + `]|^\x20|\x20$`
}()

var (
	attributeName              = regexp.MustCompile(AttributeNamePattern)
	forbiddenInAttributeValues = regexp.MustCompile(ForbiddenInAttributeValues)
)

// validateOverrides checks ceOverrides beyond Knative's SourceSpec
// validation: the names must be CloudEvents attribute names the source does
// not set itself, and the values Strings the binary HTTP binding carries.
func validateOverrides(o *duckv1.CloudEventOverrides) *apis.FieldError {
	if o == nil {
		return nil
	}
	var errs *apis.FieldError
	for name, value := range o.Extensions {
		lower := strings.ToLower(name)
		if reservedAttributes[lower] || strings.HasPrefix(lower, ExtensionPrefix) {
			errs = errs.Also(apis.ErrInvalidKeyName(name, "ceOverrides.extensions",
				"the attribute is set by the source and may not be overridden"))
		}
		// Names Knative refuses as not alphanumeric are not named twice.
		if name != lower && attributeName.MatchString(lower) {
			errs = errs.Also(apis.ErrInvalidKeyName(name, "ceOverrides.extensions",
				"CloudEvents attribute names are lowercase letters and digits: use "+lower))
		}
		if why := attributeValueProblem(value); why != "" {
			errs = errs.Also(apis.ErrInvalidValue(strconv.Quote(value), apis.CurrentField, why).
				ViaKey(name).ViaField("extensions").ViaField("ceOverrides"))
		}
	}
	return errs
}

// attributeValueProblem says why a value cannot be a ceOverrides value, or
// is empty when it can.
func attributeValueProblem(value string) string {
	if !utf8.ValidString(value) {
		return "not UTF-8"
	}
	loc := forbiddenInAttributeValues.FindStringIndex(value)
	if loc == nil {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(value[loc[0]:])
	switch r {
	case ' ':
		return "a leading or trailing space is not allowed: the binary HTTP binding sends the value as a header, which loses it"
	case '\n':
		return "U+000A (newline) is not allowed: a CloudEvents attribute value may not hold control characters; " +
			"a YAML block scalar (|) ends with a newline, use |- or a quoted string"
	}
	return fmt.Sprintf("U+%04X is not allowed: a CloudEvents attribute value may not hold control characters "+
		"(U+0000-U+001F, U+007F-U+009F) or noncharacters", r)
}
