// The Jinja subset for chat templates. Shared cases: tests/golden/jinja/cases.json, rendered by
// @huggingface/jinja 0.5.13 (make_cases.mjs). Python-only behaviour (how Jinja2 prints None,
// True and lists, as transformers renders) and the errors are checked by hand below.
#include "common/error.h"
#include "tokenizer/jinja.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace {

using nlohmann::ordered_json;
using unl::tokenizer::jinja::render;

std::string r(const std::string& tpl, const ordered_json& ctx = ordered_json::object()) { return render(tpl, ctx, "test: "); }

TEST(Jinja, MatchesReferenceRenderer) {
  std::ifstream in(std::string(UNL_SOURCE_DIR) + "/tests/golden/jinja/cases.json");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const ordered_json j = ordered_json::parse(ss.str());
  ASSERT_GE(j["cases"].size(), 25u);
  for (const auto& c : j["cases"]) {
    const std::string tpl = c["template"];
    EXPECT_EQ(r(tpl, j["context"]), c["output"].get<std::string>()) << tpl;
  }
}

TEST(Jinja, PrintsValuesAsPython) {
  // Jinja2 renders with Python's str(): None, True, repr() inside containers, floats with ".0".
  EXPECT_EQ(r("{{ none }} {{ true }} {{ false }} {{ 2.5 }} {{ 3.0 }} {{ 1e3 }} {{ 7 / 2 }}"), "None True False 2.5 3.0 1000.0 3.5");
  EXPECT_EQ(r("{{ [1, 'a', none, true] }} {{ {'a': 1, 'b': 'x'} }}"), "[1, 'a', None, True] {'a': 1, 'b': 'x'}");
  EXPECT_EQ(r("{{ [\"it's\"] }}"), "[\"it's\"]");
  EXPECT_EQ(r("{{ 0.1 + 0.2 }} {{ 1e16 }} {{ 1.5e-5 }} {{ -0.25 }} {{ 123456.0 }}"), "0.30000000000000004 1e+16 1.5e-05 -0.25 123456.0");
  EXPECT_EQ(r("{{ undefined_thing }}|{{ 'ab' * 3 }}|{{ 7 // -2 }} {{ -7 % 3 }}"), "|ababab|-4 2");
}

TEST(Jinja, WhitespaceControl) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it;
  // '-' strips all whitespace on its side; one trailing newline of the template is dropped.
  EXPECT_EQ(r("a\n  {% if true %}\n  b\n  {% endif %}\nc\n"), "a\n  b\nc");
  EXPECT_EQ(r("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(r("x {{ 'y' }} {#- c -#} z"), "x yz");
  EXPECT_EQ(r("{% if true %}x{% endif %} \n y"), "x \n y");  // lstrip only from a line start
}

TEST(Jinja, ScopingFollowsJinja) {
  // A for body is its own scope: a plain set there does not leak; a namespace attribute does.
  EXPECT_EQ(r("{% set x = 1 %}{% for i in [1, 2] %}{% set x = x + i %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(r("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"), "4");
  EXPECT_EQ(r("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");  // if is not a scope
  EXPECT_EQ(r("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }},{% endfor %}{{ loop is defined }}"), "3,7,False");
}

TEST(Jinja, PythonStringMethods) {
  EXPECT_EQ(r("{{ 'Hello World'.title() }}|{{ 'hELLO'.capitalize() }}|{{ 'ÉCOLE'.lower() }}|{{ 'straße'.upper() }}"),
            "Hello World|Hello|école|STRASSE");
  EXPECT_EQ(r("{{ 'a,b,,c'.split(',') | length }} {{ '  x  y '.split() | length }} {{ 'abcabc'.count('b') }} {{ 'abc'.find('c') }}"),
            "4 2 2 2");
  EXPECT_EQ(r("{{ 'x'.join(['a', 'b']) }} {{ 'aXbXc'.rstrip('cX') }} {{ 'héllo'[1] }} {{ 'héllo'[1:3] }}"), "axb aXb é él");
  EXPECT_EQ(r("{{ 'xxhixx'.strip('x') }} {{ '\\n\\nA\\n'.strip() }} {{ -3 | abs }}"), "hi A 3");
}

void expect_error(const std::string& tpl, const std::string& needle) {
  try {
    r(tpl, ordered_json::object());
    ADD_FAILURE() << "no error for " << tpl;
  } catch (const unl::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "want '" << needle << "' in: " << e.what();
  }
}

TEST(Jinja, UnknownConstructsAreNamed) {
  expect_error("{% include 'x.j2' %}", "unknown statement '{% include %}'");
  expect_error("{{ x | frobnicate }}", "unknown filter 'frobnicate'");
  expect_error("{{ x is frobnicated }}", "unknown test 'frobnicated'");
  expect_error("{{ 'a'.zfill(3) }}", "unknown method 'zfill'");
  expect_error("{{ nope() }}", "unknown function 'nope'");
  expect_error("{% if x %}open", "missing {% endif %}");
  expect_error("line1\n{{ 1 +* 2 }}", "line 2");
  expect_error("{{ raise_exception('Conversation roles must alternate') }}", "Conversation roles must alternate");
  expect_error("{{ 'a' + 1 }}", "cannot add a string and a integer");
  expect_error("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "nested deeper");
}

}  // namespace
