package proxylabels

import (
	"fmt"
	"strings"
	"unicode"
)

// A Traefik router rule (traefik.http.routers.<name>.rule) is an expression of matchers:
//
//	rule    = or
//	or      = and { "||" and }
//	and     = unary { "&&" unary }
//	unary   = "!" unary | "(" or ")" | matcher
//	matcher = NAME "(" [ string { "," string } ] ")"
//	string  = "`" … "`" | "\"" … "\"" | "'" … "'"
//
// as Traefik's own rule parser (pkg/rules/parser.go, on vulcand/predicate) reads it: v3 matchers
// take one argument, v2 ones (Host(`a`, `b`)) several, read here as alternatives.

// expr is a parsed rule: a matcher, or a combination of expressions.
type expr interface{ isExpr() }

type (
	matcherExpr struct {
		Name string
		Args []string
	}
	andExpr struct{ L, R expr }
	orExpr  struct{ L, R expr }
	notExpr struct{ X expr }
)

func (matcherExpr) isExpr() {}
func (andExpr) isExpr()     {}
func (orExpr) isExpr()      {}
func (notExpr) isExpr()     {}

// RuleError is a rule that does not parse, with the position of the fault.
type RuleError struct {
	Rule string
	Pos  int
	Msg  string
}

func (e *RuleError) Error() string {
	return fmt.Sprintf("rule %q: %s at offset %d", e.Rule, e.Msg, e.Pos)
}

type parser struct {
	src string
	pos int
}

// parseRule parses a router rule.
func parseRule(rule string) (expr, error) {
	p := &parser{src: rule}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.src) {
		return nil, p.fail("unexpected %q", p.src[p.pos:])
	}
	return e, nil
}

func (p *parser) fail(format string, args ...any) error {
	return &RuleError{Rule: p.src, Pos: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) space() {
	for p.pos < len(p.src) && unicode.IsSpace(rune(p.src[p.pos])) {
		p.pos++
	}
}

// accept consumes tok (after spaces) when it comes next.
func (p *parser) accept(tok string) bool {
	p.space()
	if strings.HasPrefix(p.src[p.pos:], tok) {
		p.pos += len(tok)
		return true
	}
	return false
}

func (p *parser) or() (expr, error) {
	return p.binary("||", p.and, func(l, r expr) expr { return orExpr{l, r} })
}

func (p *parser) and() (expr, error) {
	return p.binary("&&", p.unary, func(l, r expr) expr { return andExpr{l, r} })
}

// binary reads operands joined by op, left-associative.
func (p *parser) binary(op string, operand func() (expr, error), join func(l, r expr) expr) (expr, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for p.accept(op) {
		r, err := operand()
		if err != nil {
			return nil, err
		}
		l = join(l, r)
	}
	return l, nil
}

func (p *parser) unary() (expr, error) {
	switch {
	case p.accept("!"):
		x, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notExpr{x}, nil
	case p.accept("("):
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.accept(")") {
			return nil, p.fail("missing )")
		}
		return x, nil
	}
	return p.matcher()
}

func (p *parser) matcher() (expr, error) {
	p.space()
	start := p.pos
	for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos]))) {
		p.pos++
	}
	if p.pos == start {
		return nil, p.fail("expected a matcher such as Host(`example.com`)")
	}
	m := matcherExpr{Name: p.src[start:p.pos]}
	if !p.accept("(") {
		return nil, p.fail("expected ( after %s", m.Name)
	}
	if p.accept(")") {
		return m, nil
	}
	for {
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		m.Args = append(m.Args, s)
		if p.accept(")") {
			return m, nil
		}
		if !p.accept(",") {
			return nil, p.fail("expected , or ) in %s", m.Name)
		}
	}
}

func (p *parser) str() (string, error) {
	p.space()
	if p.pos >= len(p.src) || !strings.ContainsRune("`\"'", rune(p.src[p.pos])) {
		return "", p.fail("expected a quoted value (`…`)")
	}
	q := p.src[p.pos]
	end := strings.IndexByte(p.src[p.pos+1:], q)
	if end < 0 {
		return "", p.fail("unterminated %c", q)
	}
	s := p.src[p.pos+1 : p.pos+1+end]
	p.pos += end + 2
	return s, nil
}

// maxAlternatives bounds the expansion of a rule into alternatives (each one route rule).
const maxAlternatives = 32

// term is one matcher in an alternative, negated or not.
type term struct {
	matcherExpr
	Not bool
}

// alternatives expands e into its disjunctive normal form: alternatives ("||", and the several
// arguments of a v2 matcher) of conjunctions ("&&") of matchers.
func alternatives(e expr) ([][]term, error) {
	switch x := e.(type) {
	case matcherExpr:
		if len(x.Args) <= 1 || !multiArg[strings.ToLower(x.Name)] {
			return [][]term{{{matcherExpr: x}}}, nil
		}
		out := make([][]term, 0, len(x.Args))
		for _, a := range x.Args {
			out = append(out, []term{{matcherExpr: matcherExpr{Name: x.Name, Args: []string{a}}}})
		}
		return out, nil
	case notExpr:
		inner, ok := x.X.(matcherExpr)
		if !ok {
			return nil, fmt.Errorf("a negated group !(…) cannot be expressed")
		}
		return [][]term{{{matcherExpr: inner, Not: true}}}, nil
	case orExpr:
		l, r, err := bothAlternatives(x.L, x.R)
		if err != nil {
			return nil, err
		}
		if len(l)+len(r) > maxAlternatives {
			return nil, fmt.Errorf("the rule has more than %d alternatives", maxAlternatives)
		}
		return append(l, r...), nil
	case andExpr:
		l, r, err := bothAlternatives(x.L, x.R)
		if err != nil {
			return nil, err
		}
		if len(l)*len(r) > maxAlternatives {
			return nil, fmt.Errorf("the rule has more than %d alternatives", maxAlternatives)
		}
		var out [][]term
		for _, a := range l {
			for _, b := range r {
				out = append(out, append(append([]term{}, a...), b...))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown expression %T", e)
}

func bothAlternatives(l, r expr) ([][]term, [][]term, error) {
	la, err := alternatives(l)
	if err != nil {
		return nil, nil, err
	}
	ra, err := alternatives(r)
	return la, ra, err
}

// multiArg are the v2 matchers whose several arguments are alternatives.
var multiArg = map[string]bool{"host": true, "hostheader": true, "hostregexp": true, "path": true, "pathprefix": true, "method": true}
