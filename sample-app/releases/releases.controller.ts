import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Req } from '@nestjs/common';
import { absoluteUrl, type UrlSource } from '../absolute-url.js';
import { parseNewRelease, parseReleaseChanges, type Release } from './release.js';
import { ReleasesService } from './releases.service.js';

/** PDC-like REST resource: each change emits `.releases.added|changed|removed`. */
@Controller('releases')
export class ReleasesController {
  constructor(private readonly releases: ReleasesService) {}

  @Get(':id')
  get(@Param('id') id: string): Release {
    return this.releases.get(id);
  }

  @Post()
  create(@Body() body: unknown, @Req() request: UrlSource): Release {
    const release = parseNewRelease(body);
    return this.releases.create(release, absoluteUrl(request, `/releases/${encodeURIComponent(release.release_id)}`));
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() body: unknown, @Req() request: UrlSource): Release {
    return this.releases.update(
      id,
      parseReleaseChanges(body),
      absoluteUrl(request, `/releases/${encodeURIComponent(id)}`),
    );
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): void {
    this.releases.remove(id);
  }
}
