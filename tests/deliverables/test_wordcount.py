"""字数 the way WPS/Word count it, on files built here (mingxiao/wordcount.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mingxiao.wordcount import WordCountError, count_docx, count_file, count_pdf, count_text
from tests.deliverables._files import (
    blank_pdf,
    deleted,
    docx,
    inserted,
    para,
    run,
    text_box,
    text_pdf,
)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("名校长培养工程", 7),
        ("名校长，培养工程。", 9),  # full-width punctuation counts 1 each
        ("Hello world", 2),  # Latin words count 1 each
        ("AI赋能教育2026年", 7),  # AI + 赋能教育 + 2026 + 年
        ("“做有温度的教育”——办学主张……", 17),
        ("well-known 3.14 -  ", 2),  # a half-width dash standing alone counts nothing
        ("   \n\t", 0),
    ],
)
def test_mixed_chinese_and_english_text_is_counted_like_word(text: str, total: int):
    assert count_text(text).total == total


def test_the_count_says_how_it_was_made():
    described = count_text("学校发展，AI 2026").describe()
    assert "汉字 4" in described and "中文标点 1" in described and "英文单词/数字串 2" in described


def test_docx_mixed_chinese_and_english(tmp_path: Path):
    path = write(
        tmp_path, "a.docx", docx(para(run("我的办学主张：")), para(run("Hello 世界 2026")))
    )
    assert count_docx(path).total == 7 + 1 + 2 + 1  # 我的办学主张： / Hello / 世界 / 2026


def test_docx_runs_of_one_word_split_by_formatting_count_once(tmp_path: Path):
    path = write(tmp_path, "a.docx", docx(para(run("Lead"), run("ership"))))
    assert count_docx(path).total == 1


def test_docx_paragraphs_separate_latin_words(tmp_path: Path):
    path = write(tmp_path, "a.docx", docx(para(run("school")), para(run("culture"))))
    assert count_docx(path).total == 2


def test_docx_tracked_insertions_count_and_deletions_do_not(tmp_path: Path):
    body = para(
        run("课题"), inserted("研究报告"), deleted("删除的十个字删除的字"), deleted("deleted words")
    )
    path = write(tmp_path, "a.docx", docx(body))
    assert count_docx(path).total == 6


def test_docx_text_box_counts_once_although_word_stores_it_twice(tmp_path: Path):
    path = write(tmp_path, "a.docx", docx(para(run("正文"), text_box("文本框里的字"))))
    assert count_docx(path).total == 2 + 6


def test_docx_text_box_separates_words_around_it(tmp_path: Path):
    path = write(tmp_path, "a.docx", docx(para(run("before"), text_box("box"), run("after"))))
    assert count_docx(path).total == 3


def test_docx_footnotes_count_as_in_words_default_dialog(tmp_path: Path):
    footnotes = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<w:footnotes xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:t>分隔</w:t></w:r></w:p></w:footnote>'
        '<w:footnote w:id="1"><w:p><w:r><w:t>脚注</w:t></w:r></w:p></w:footnote></w:footnotes>'
    )
    path = write(
        tmp_path, "a.docx", docx(para(run("正文")), extra={"word/footnotes.xml": footnotes})
    )
    assert count_docx(path).total == 4


def test_docx_field_codes_are_not_counted(tmp_path: Path):
    field = '<w:r><w:instrText xml:space="preserve"> PAGE \\* MERGEFORMAT </w:instrText></w:r>'
    path = write(tmp_path, "a.docx", docx(para(run("第"), field, run("页"))))
    assert count_docx(path).total == 2


def test_a_broken_docx_is_an_error_not_a_crash(tmp_path: Path):
    path = write(tmp_path, "a.docx", b"PK\x03\x04 not a zip")
    with pytest.raises(WordCountError):
        count_docx(path)


def test_text_pdf_is_counted(tmp_path: Path):
    path = write(tmp_path, "a.pdf", text_pdf("名校长培养工程 Leadership 2026"))
    result = count_pdf(path)
    assert result.has_text and result.cjk == 7 and result.words == 2


def test_empty_pdf_has_no_text_and_needs_a_manual_count(tmp_path: Path):
    path = write(tmp_path, "scan.pdf", blank_pdf())
    result = count_pdf(path)
    assert not result.has_text and result.total == 0


def test_gb18030_text_file_is_counted(tmp_path: Path):
    path = write(tmp_path, "a.txt", "研修报告 report".encode("gb18030"))
    assert count_file(path, "txt").total == 5
