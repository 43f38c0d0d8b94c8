package io.gradus.itests;

import static org.assertj.core.api.Assertions.assertThat;

import io.gradus.core.testing.RequiredTool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

@DisplayName("The console page, in a headless browser")
class ConsolePageTest {

    @RegisterExtension
    static final RunningHost HOST = new RunningHost();

    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private static WebDriver browser;
    private static Path tempDir;

    @BeforeAll
    static void openBrowser() throws Exception {
        RequiredTool.require(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "no headless browser here (apt-get install chromium chromium-driver; .ci/run does)");
        tempDir = Files.createTempDirectory("gradus-page-");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments(
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + tempDir.resolve("profile"), "--window-size=1400,1400");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).build();
        browser = new ChromeDriver(service, options);
        browser.get(HOST.url("/").toString());
    }

    @AfterAll
    static void closeBrowser() {
        if (browser != null) {
            browser.quit();
        }
    }

    @Test
    @DisplayName("shows a deploy-folder hot-swap live, then stops, starts, updates and removes the bundle with its buttons")
    void hotSwapFromTheFolderAndThePage() throws Exception {
        String bsn = TestBundles.SAMPLE + ".page";
        String jarName = bsn + ".jar";

        // Changes made outside the page appear on it without a reload.
        Path deployed = HOST.deploy(jarName, TestBundles.sample(bsn, "1.0.0"));
        String rowId = awaitRow(bsn);
        awaitText(rowId, ".version", "1.0.0");
        awaitText(rowId, ".technique", "tuner sample");
        HOST.deploy(jarName, TestBundles.sample(bsn, "1.1.0"));
        awaitText(rowId, ".version", "1.1.0");
        awaitText(rowId, ".state", "ACTIVE");
        assertThat(awaitRow(bsn)).as("updated in place, same bundle id").isEqualTo(rowId);

        // The page's own buttons, with the token typed in.
        browser.findElement(By.id("token")).sendKeys(HOST.token());
        click(rowId, ".action-stop");
        awaitText(rowId, ".state", "RESOLVED");
        click(rowId, ".action-start");
        awaitText(rowId, ".state", "ACTIVE");

        Path newer = tempDir.resolve("sample-1.2.0.jar");
        Files.write(newer, TestBundles.sample(bsn, "1.2.0"));
        browser.findElement(By.id("jar")).sendKeys(newer.toString());
        click(rowId, ".action-update");
        awaitText(rowId, ".version", "1.2.0");
        assertThat(HOST.host().catalog().tuner("sample", null).orElseThrow().descriptor().version()).isEqualTo("1.2.0");

        click(rowId, ".action-remove");
        wait(Duration.ofSeconds(20)).until(ExpectedConditions.numberOfElementsToBe(By.id(rowId), 0));
        assertThat(deployed).doesNotExist();
        assertThat(browser.findElement(By.id("log")).getText()).contains("UNREGISTERED", "UPDATED", "UNINSTALLED");
    }

    /** The id of the table row that shows {@code symbolicName}, once there is one. */
    private static String awaitRow(String symbolicName) {
        return wait(Duration.ofSeconds(20)).until(d -> d.findElements(By.cssSelector("#bundles tr")).stream()
                .filter(r -> r.getText().contains(symbolicName))
                .map(r -> r.getAttribute("id"))
                .findFirst()
                .orElse(null));
    }

    private static void awaitText(String rowId, String cell, String text) {
        wait(Duration.ofSeconds(20)).until(ExpectedConditions.textToBe(By.cssSelector("#" + rowId + " " + cell), text));
    }

    private static void click(String rowId, String button) {
        wait(Duration.ofSeconds(10)).until(d -> {
            d.findElement(By.cssSelector("#" + rowId + " " + button)).click();
            return true;
        });
    }

    /** The page redraws its table on every event, so elements found a moment ago may be gone: retry. */
    private static WebDriverWait wait(Duration timeout) {
        WebDriverWait wait = new WebDriverWait(browser, timeout);
        wait.ignoring(StaleElementReferenceException.class);
        return wait;
    }
}
