def test_partners_see_each_other(partners):
    anna, bram = partners
    assert "Bram" in anna.get("/").text
    assert "Anna" in bram.get("/").text
