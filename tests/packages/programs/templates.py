# Jinja2 renders with autoescaping (MarkupSafe, through its pure-Python
# code); Markdown turns text into HTML; bs4 parses it back with CSS selectors.
import jinja2
import markdown
import markupsafe
from bs4 import BeautifulSoup

env = jinja2.Environment(autoescape=True)
t = env.from_string("<ul>{% for u in users %}<li>{{ u.name }}: {{ u.score|round(1) }}</li>{% endfor %}</ul>")
print(t.render(users=[{"name": "ada", "score": 97.46}, {"name": "<script>", "score": 1}]))
print(markupsafe.escape("a < b & c"), type(markupsafe.escape("x")).__name__)
html = markdown.markdown("# Title\n\nSome *emphasis* and a [link](https://example.org).\n\n- one\n- two")
print(html)
soup = BeautifulSoup(html, "html.parser")
print(soup.select_one("h1").text, [li.text for li in soup.select("ul > li")], soup.a["href"])
