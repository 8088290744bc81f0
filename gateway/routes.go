package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/ioutil"
	"regexp"
	"sort"
	"strings"

	"github.com/golang/protobuf/proto"
	descpb "github.com/golang/protobuf/protoc-gen-go/descriptor"
	"google.golang.org/genproto/googleapis/api/annotations"
)

// route is one REST binding (a google.api.http rule) of an RPC: what the checker needs to
// refuse a malformed request before grpc-gateway turns it into a Go error or a 500.
type route struct {
	method     string
	template   string
	pattern    *regexp.Regexp
	pathParams []string
	body       string // "" (no body), "*" or a field name
	input      string // fully qualified request message name, e.g. ".massage_estimator.v1.X"
}

// registry is every message and enum of the API (and of its imports) by fully qualified
// name, read from the descriptors the generated Go code registers, plus every route.
type registry struct {
	messages map[string]*descpb.DescriptorProto
	enums    map[string]*descpb.EnumDescriptorProto
	routes   []*route
}

// loadRegistry reads the descriptors of the API's proto files (ProtoFiles, written by
// scripts/build_gateway.sh) and of every file they import, so the routes and the request
// checker follow the protos with no hand-kept list.
func loadRegistry(files []string) (*registry, error) {
	reg := &registry{
		messages: map[string]*descpb.DescriptorProto{},
		enums:    map[string]*descpb.EnumDescriptorProto{},
	}
	// An API file may be met first as another API file's import (clinics.proto imports
	// estimator.proto): it is read once, and its routes are added when it is met as an API file.
	loaded, routed := map[string]bool{}, map[string]bool{}
	var load func(name string, api bool) error
	load = func(name string, api bool) error {
		if loaded[name] && (!api || routed[name]) {
			return nil
		}
		first := !loaded[name]
		loaded[name] = true
		if api {
			routed[name] = true
		}
		fd, err := fileDescriptor(name)
		if err != nil {
			return err
		}
		prefix := "."
		if fd.GetPackage() != "" {
			prefix += fd.GetPackage() + "."
		}
		if first {
			for _, m := range fd.GetMessageType() {
				reg.addMessage(prefix, m)
			}
			for _, e := range fd.GetEnumType() {
				reg.enums[prefix+e.GetName()] = e
			}
		}
		if api {
			for _, svc := range fd.GetService() {
				for _, m := range svc.GetMethod() {
					if err := reg.addRoutes(m); err != nil {
						return fmt.Errorf("%s %s: %w", svc.GetName(), m.GetName(), err)
					}
				}
			}
		}
		if first {
			for _, dep := range fd.GetDependency() {
				if err := load(dep, false); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, f := range files {
		if err := load(f, true); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

func fileDescriptor(name string) (*descpb.FileDescriptorProto, error) {
	gz := proto.FileDescriptor(name)
	if gz == nil {
		return nil, fmt.Errorf("no descriptor registered for %s", name)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	raw, err := ioutil.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	fd := &descpb.FileDescriptorProto{}
	if err := proto.Unmarshal(raw, fd); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return fd, nil
}

func (reg *registry) addMessage(prefix string, m *descpb.DescriptorProto) {
	name := prefix + m.GetName()
	reg.messages[name] = m
	for _, nested := range m.GetNestedType() {
		reg.addMessage(name+".", nested)
	}
	for _, e := range m.GetEnumType() {
		reg.enums[name+"."+e.GetName()] = e
	}
}

func (reg *registry) addRoutes(m *descpb.MethodDescriptorProto) error {
	if m.GetOptions() == nil || !proto.HasExtension(m.GetOptions(), annotations.E_Http) {
		return nil
	}
	ext, err := proto.GetExtension(m.GetOptions(), annotations.E_Http)
	if err != nil {
		return err
	}
	rule, ok := ext.(*annotations.HttpRule)
	if !ok {
		return fmt.Errorf("google.api.http is a %T", ext)
	}
	for _, r := range append([]*annotations.HttpRule{rule}, rule.GetAdditionalBindings()...) {
		method, template := httpPattern(r)
		if template == "" {
			continue
		}
		rt, err := compileRoute(method, template, r.GetBody(), m.GetInputType())
		if err != nil {
			return err
		}
		reg.routes = append(reg.routes, rt)
	}
	return nil
}

func httpPattern(r *annotations.HttpRule) (string, string) {
	switch p := r.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return "GET", p.Get
	case *annotations.HttpRule_Post:
		return "POST", p.Post
	case *annotations.HttpRule_Put:
		return "PUT", p.Put
	case *annotations.HttpRule_Delete:
		return "DELETE", p.Delete
	case *annotations.HttpRule_Patch:
		return "PATCH", p.Patch
	case *annotations.HttpRule_Custom:
		return p.Custom.GetKind(), p.Custom.GetPath()
	}
	return "", ""
}

var templateVar = regexp.MustCompile(`\{([a-z_][a-z0-9_.]*)(=[^}]*)?\}`)

// compileRoute turns a path template ("/v1/payers/{payer_id}/rule-sets:diff") into an
// anchored regular expression; a variable matches one path segment, as grpc-gateway does
// for the templates the protos use (no "**" variables).
func compileRoute(method, template, body, input string) (*route, error) {
	var expr strings.Builder
	expr.WriteString("^")
	var params []string
	last := 0
	for _, loc := range templateVar.FindAllStringSubmatchIndex(template, -1) {
		expr.WriteString(regexp.QuoteMeta(template[last:loc[0]]))
		params = append(params, template[loc[2]:loc[3]])
		expr.WriteString(`([^/:]+)`)
		last = loc[1]
	}
	expr.WriteString(regexp.QuoteMeta(template[last:]))
	expr.WriteString("$")
	pattern, err := regexp.Compile(expr.String())
	if err != nil {
		return nil, fmt.Errorf("route %s %s: %w", method, template, err)
	}
	return &route{method: method, template: template, pattern: pattern, pathParams: params,
		body: body, input: input}, nil
}

// match finds the route for a request, or the methods the path allows (for 405 and its
// Allow header) when none of them is the request's; both empty means 404.
func (reg *registry) match(method, path string) (*route, map[string]string, []string) {
	allowed := map[string]bool{}
	for _, rt := range reg.routes {
		groups := rt.pattern.FindStringSubmatch(path)
		if groups == nil {
			continue
		}
		if rt.method != method {
			allowed[rt.method] = true
			continue
		}
		params := map[string]string{}
		for i, name := range rt.pathParams {
			params[name] = groups[i+1]
		}
		return rt, params, nil
	}
	var allow []string
	for m := range allowed {
		allow = append(allow, m)
	}
	sort.Strings(allow)
	return nil, nil, allow
}
