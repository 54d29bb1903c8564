// Small Jinja templates covering the constructs chat templates use, rendered by
// @huggingface/jinja (npm, 0.5.13, what transformers.js renders chat templates with) with
// trim_blocks / lstrip_blocks as transformers sets them. Output: cases.json. Booleans, lists and
// dicts go through tojson: @huggingface/jinja prints them JavaScript-style (true, ["a"]), while
// Python's Jinja2 (transformers) prints True and ['a'], which we follow (tested by hand).
// Run: cd <dir with node_modules/@huggingface/jinja> && node make_cases.mjs <out dir>
import fs from "node:fs";
import path from "node:path";
import { Template } from "@huggingface/jinja";

const msgs = [{ role: "system", content: "  Be brief.  " }, { role: "user", content: "Hi <b>there</b>" },
  { role: "assistant", content: "<think>\nplan\n</think>\n\nHello!" }, { role: "user", content: "Bye" }];
const ctx = { messages: msgs, add_generation_prompt: true, bos_token: "<s>", eos_token: "</s>",
  tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
  n: 7, f: 2.5, flag: false, empty: [], text: "Hello, World", nested: { a: { b: [1, 2, 3] } } };
const templates = [
  "{{ bos_token }}{% for m in messages %}<{{ m['role'] }}>{{ m.content | trim }}</{{ m.role }}>{% endfor %}",
  "{% for m in messages %}{{ loop.index }}/{{ loop.length }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}{{ loop.revindex0 }} {% endfor %}",
  "{% set ns = namespace(found=false, idx=-1) %}{% for m in messages %}{% if m.role == 'user' %}{% set ns.found = true %}{% set ns.idx = loop.index0 %}{% endif %}{% endfor %}{{ ns.found | tojson }} {{ ns.idx }}",
  "{% for m in messages[::-1] %}{{ m.role[0] }}{% endfor %}|{{ messages[1:3] | length }}|{{ messages[-1].content }}",
  "{% if n > 5 and not flag %}big{% elif n > 2 %}mid{% else %}small{% endif %}",
  "{{ text.split(', ') | tojson }} {{ text.lower() }} {{ text.upper() }} {{ text.replace('l', 'L') }} {{ [text.startswith('Hell'), text.endswith(('x', 'd'))] | tojson }}",
  "{{ '  pad  '.strip() }}|{{ '\\n\\nA\\n'.lstrip('\\n') }}|{{ 'a b  c'.split() | tojson }}|{{ 'a-b-c'.split('-', 1) | tojson }}",
  "{{ tools[0] | tojson }}\n{{ tools | tojson(indent=2) }}",
  "{{ n // 2 }} {{ n % 3 }} {{ n / 2 }} {{ f * 2 }} {{ 2 ** 10 }} {{ -n }} {{ n ~ 'x' }}",
  "{{ empty | length }} {{ messages | length }} {{ (messages | first).role }} {{ (messages | last).role }} {{ messages | map(attribute='role') | join(',') }}",
  "{{ messages | selectattr('role', 'equalto', 'user') | list | length }} {{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | join }}",
  "{{ [undefined_var is defined, n is defined, none is none, text is string, n is number, n is odd, empty is iterable, nested is mapping, n is not string] | tojson }}",
  "{{ nested.a.b[1] }} {{ nested['a']['b'] | join('-') }} {{ nested.a.get('b') }} {{ nested.a.get('z', 'dflt') }} {% for k, v in nested.items() %}{{ k }}={{ v | tojson }}{% endfor %}",
  "{%- for m in messages %}\n  {%- if m.role == 'assistant' %}\n    {{- m.content.split('</think>')[-1].lstrip('\\n') }}\n  {%- endif %}\n{%- endfor %}",
  "{% for m in messages %}\n{% if m.role == 'user' %}\n[U] {{ m.content }}\n{% endif %}\n{% endfor %}\n",
  "  {% if true %}\n  yes\n  {% endif %}\nafter",
  "{% macro tag(name, body='x') %}<{{ name }}>{{ body }}</{{ name }}>{% endmacro %}{{ tag('a') }}{{ tag('b', 'y') }}{{ tag(name='c', body='z') }}",
  "{% set greeting %}Hello {{ messages[1].role }}{% endset %}[{{ greeting }}]",
  "{% for i in range(5) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 3 %}{% break %}{% endif %}{{ i }}{% endfor %}",
  "{% for x in empty %}{{ x }}{% else %}none{% endfor %}|{% for m in messages if m.role != 'system' %}{{ m.role }};{% endfor %}",
  "{{ 'yes' if flag else 'no' }} {{ text if n > 1 }} {{ [1, 2] + [3] }} {{ {'k': 'v', 'n': 1} | tojson }} {{ ('a', 'b') | join }}",
  "{{ ['A' in text, 'z' not in text, 'user' in (messages | map(attribute='role') | list), 'a' in nested] | tojson }}",
  "{{ text | replace('o', '0') }} {{ text | title }} {{ 'hello world' | capitalize }} {{ messages[0].content | trim | upper }}",
  "{{ text[0] }}{{ text[-1] }}{{ text[1:4] }}{{ text[::2] }}",
  "{{ n | string + 'x' }} {{ '42' | int + 1 }} {{ '2.5' | float }} {{ -3 | abs }} {{ [3, 1, 2] | sort | join }} {{ [1, 2, 2] | unique | list | length }}",
  "{{ \"Say \\\"hi\\\"\\tnow\" }}",
  "{# a comment #}x{#- trimmed -#}   y {{- ' z ' -}}  w",
  "{% if messages[0]['role'] == 'system' %}{% set system_message = messages[0]['content'] %}{% set loop_messages = messages[1:] %}{% else %}{% set loop_messages = messages %}{% endif %}{{ system_message | default('none') }}|{{ loop_messages | length }}",
  "{%- for message in messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 1) %}{{- 'alt-error ' }}{%- endif %}{%- endfor %}ok",
];
const cases = [];
for (const t of templates) {
  try {
    cases.push({ template: t, output: new Template(t).render(ctx) });
  } catch (e) {
    console.error("reference cannot render (left out):", JSON.stringify(t), e.message);
  }
}
fs.writeFileSync(path.join(process.argv[2], "cases.json"), JSON.stringify({ context: ctx, cases }, null, 1) + "\n");
console.log(cases.length);
