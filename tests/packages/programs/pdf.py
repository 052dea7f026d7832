# PyPDF2 writes a one-page PDF with a line of text; pdfminer.six and PyPDF2
# read the text back.
from PyPDF2 import PdfWriter
from PyPDF2.generic import (DecodedStreamObject, DictionaryObject, NameObject)
w = PdfWriter()
page = w.add_blank_page(width=300, height=200)
font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                         NameObject("/Subtype"): NameObject("/Type1"),
                         NameObject("/BaseFont"): NameObject("/Helvetica")})
page[NameObject("/Resources")] = DictionaryObject({
    NameObject("/Font"): DictionaryObject({NameObject("/F1"): w._add_object(font)})})
content = DecodedStreamObject()
content.set_data(b"BT /F1 18 Tf 20 100 Td (Hello from snakecage) Tj ET")
page[NameObject("/Contents")] = w._add_object(content)
with open("/app/hello.pdf", "wb") as f:
    w.write(f)
from pdfminer.high_level import extract_text
print(repr(extract_text("/app/hello.pdf").strip()))
from PyPDF2 import PdfReader
r = PdfReader("/app/hello.pdf")
print(len(r.pages), repr(r.pages[0].extract_text().strip()))
