#!/usr/bin/env python3
"""Writes the ICD-10-CM code sets Overturn ships: codes and billable flags only (facts, no
descriptions), one fiscal year per file, gzip-compressed.

Source: the CDC's ICD-10-CM code list (public domain) as the PyPI package `simple-icd-10-cm`
ships it (data/code-list-April-YYYY.txt: chapters, blocks and codes, one per line).
A code is billable when it is a leaf: no other code of the list extends it.

    pip download simple-icd-10-cm==1.5.0 --no-deps -d /tmp/icd   # April 2026 (FY2026)
    pip download simple-icd-10-cm==1.4.0 --no-deps -d /tmp/icd   # April 2025 (FY2025)
    python3 extract_icd10cm.py /tmp/icd/simple_icd_10_cm-1.5.0-py3-none-any.whl 2026 icd10cm-fy2026.tsv.gz
"""
import gzip
import re
import sys
import zipfile

wheel, year, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    [name] = [n for n in z.namelist() if re.search(r"data/code-list-[A-Za-z]+-\d{4}\.txt$", n)]
    lines = z.read(name).decode().split()
codes = sorted({c for c in lines if re.fullmatch(r"[A-Z][0-9A-Z][0-9A-Z]{1,5}", c)})
billable = [i + 1 == len(codes) or not codes[i + 1].startswith(c) for i, c in enumerate(codes)]
body = f"# ICD-10-CM FY{year}: {name.split('/')[-1]} of {wheel.split('/')[-1]}; code, 1 billable / 0 header\n"
body += "".join(f"{c}\t{int(b)}\n" for c, b in zip(codes, billable))
with gzip.GzipFile(out, "wb", mtime=0) as f:
    f.write(body.encode())
print(f"FY{year}: {len(codes)} codes, {sum(billable)} billable")
