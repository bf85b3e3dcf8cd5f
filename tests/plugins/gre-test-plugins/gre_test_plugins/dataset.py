"""``tsv_test``: header-less ``id<TAB>lat<TAB>lon<TAB>path`` lines in a ``.tsv`` file."""

from __future__ import annotations

from pathlib import Path

from gre.eval.datasets_base import RecordBuilder, parse_coordinate
from gre.eval.datasets_registry import DatasetFormat, LoadOptions, images_dir


def _fields(line: str) -> list[str]:
    return line.rstrip("\r\n").split("\t")


class TsvTestFormat(DatasetFormat):
    name = "tsv_test"
    description = "id, lat, lon and image path per line, tab-separated, no header"

    def recognises(self, path: Path, options: LoadOptions) -> bool:
        """A ``.tsv`` whose first line is a record (a header's lat/lon are not numbers)."""
        if path.suffix.lower() != ".tsv":
            return False
        with path.open(encoding="utf-8", errors="replace") as fh:
            fields = _fields(fh.readline())
        return len(fields) == 4 and None not in map(parse_coordinate, fields[1:3])

    def load(self, path: Path, options: LoadOptions) -> RecordBuilder:
        builder = RecordBuilder(images_dir(options.images, path.parent))
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            builder.total += 1
            where = f"line {number}"
            fields = _fields(line)
            if len(fields) != 4:
                builder.skip("bad_record", where, f"{len(fields)} fields, expected 4")
                continue
            sample_id = builder.take_id(where, fields[0])
            if sample_id is None:
                continue
            coords = builder.take_coordinates(where, sample_id, fields[1], fields[2])
            if coords is None:
                continue
            image = builder.take_image(where, sample_id, builder.root, [fields[3]])
            if image is not None:
                builder.add(sample_id, image, *coords, metadata={"format": self.name})
        return builder


TSV = TsvTestFormat()
