"""A file over the upload limit gets a message on the page and a way out."""

from __future__ import annotations

import os

import pytest

from tests.browser.conftest import no_bug, shoot

pytestmark = pytest.mark.browser


def test_oversized_upload_is_refused_with_a_way_out(small_upload_server, page, tmp_path):
    page.goto(small_upload_server["url"] + "/data")
    page.get_by_role("heading", name="Data").first.wait_for(timeout=90_000)
    page.get_by_text("Files up to 1 MB").wait_for()
    big = tmp_path / "export.csv"
    big.write_bytes(b"user_id,ts,event\n" + os.urandom(1_200_000).hex().encode())
    page.locator('input[type="file"]').set_input_files(str(big))
    page.get_by_text("File must be 1.0MB or smaller").wait_for(timeout=30_000)
    page.get_by_text("convert it to Parquet").wait_for()
    no_bug(page)
    shoot(page, "07_data_file_too_large")
