# The smaller libraries agents reach for, each doing one real thing.
import attr
import certifi
import chardet
import charset_normalizer
import defusedxml.ElementTree
import idna
import six
import typing_extensions
import urllib3
import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from tabulate import tabulate

doc = yaml.safe_load("name: snakecage\nitems: [1, 2, {a: b}]\nnested:\n  flag: true\n")
print(doc, yaml.__with_libyaml__)
print(yaml.safe_dump({"b": [1, 2], "a": "x"}, sort_keys=True).strip().replace("\n", " | "))

print(tabulate([["ada", 97.5], ["alan", 88]], headers=["name", "score"], tablefmt="github"))

root = defusedxml.ElementTree.fromstring("<r><i n='1'/><i n='2'/></r>")
print([i.get("n") for i in root])
try:
    defusedxml.ElementTree.fromstring('<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')
except defusedxml.EntitiesForbidden as e:
    print("refused:", type(e).__name__)

latin = "Les éléphants mangèrent déjà la crème brûlée à côté du café.".encode("latin-1") * 3
cyrillic = "Привет, мир! Это проверка кодировки текста.".encode("utf-8")
print(chardet.detect(latin)["encoding"], charset_normalizer.from_bytes(cyrillic).best().encoding)

print(idna.encode("bücher.example").decode(), idna.decode("xn--bcher-kva.example"))
print(Version("1.24.2") > Version("1.9"), "1.5.3" in SpecifierSet(">=1.5,<2"))

@attr.s(auto_attribs=True, frozen=True)
class Point:
    x: int
    y: int = 0

print(Point(1), attr.asdict(Point(2, 3)))
print(typing_extensions.Literal["a"], six.PY3, six.moves.range(3))
print(certifi.where(), open(certifi.where()).read().count("BEGIN CERTIFICATE") > 100)
u = urllib3.util.parse_url("https://user@example.org:8443/path?q=1")
print(u.host, u.port, u.path, u.query)
